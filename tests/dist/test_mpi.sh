# test_mpi.sh - `backprop train` across MPI ranks: the weights of one
# process to 1e-5 (relative to the largest weight of each tensor) over 2 and
# 3 ranks (a CNN's over 2; one with batch norm, and its running
# statistics, over 1, 2 and 3), the same bits with --deterministic (batch
# norm included, over 1, 2 and 3), one rank's
# output, and the faults: a bad file on one rank, different data on one
# rank and a killed rank each end the whole job with a non-zero status and
# a message, never a hang (every mpirun runs under a timeout; a timeout
# fails the test).
# Usage: sh test_mpi.sh PATH_TO_backprop [MPIEXEC]
. "$(dirname "$0")/../cli/lib.sh"
MPIEXEC=${2:-mpirun}
PY=/usr/bin/python3
COMPARE="$(dirname "$0")/compare.py"
command -v "$MPIEXEC" >/dev/null 2>&1 || {
    echo "SKIP: $MPIEXEC not found (apt-get install openmpi-bin)"
    exit 0
}
# Open MPI refuses root without these; --oversubscribe lets 3 ranks share
# fewer cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Under AddressSanitizer, the MPI runtime's own allocations at exit (in
# plugins it has already unloaded) read as leaks; the library's leaks are
# checked by the tests that run without MPI.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
LIMIT=120
mpi() { # mpi N ARGS...: backprop train over N ranks, under the timeout
    n=$1
    shift
    timeout "$LIMIT" "$MPIEXEC" --oversubscribe -np "$n" "$BP" train "$@"
}
not_hung() { # not_hung WHAT: the last run ended by itself
    [ "$rc" -ne 124 ] || fail "$1: still running after ${LIMIT}s (a hang)"
}
same_weights() { # same_weights A B TOL WHAT
    if [ -x "$PY" ]; then
        "$PY" "$COMPARE" "$1" "$2" "$3" >"$TMP/cmp" 2>&1 ||
            fail "$4: $(cat "$TMP/cmp")"
    elif [ "$3" = 0 ]; then
        cmp -s "$1" "$2" || fail "$4: the files differ"
    else
        echo "SKIP: $4 (apt-get install python3 to compare weights)"
    fi
}

# 1503 rows: batches of 100 leave a short last batch; 100 rows split 50/50
# over 2 ranks and 33/33/34 over 3.
DATA="--data spiral:501:3 --net 2,64:relu,48:tanh,3:softmax --batch 100 --epochs 4 --seed 7
      --threads 1 --quiet"
for opt in "--optimizer sgd" "--optimizer adam --lr 0.003"; do
    name=$(echo "$opt" | cut -d' ' -f2)
    # shellcheck disable=SC2086
    run "$BP" train $DATA $opt --out "$TMP/one-$name.st"
    expect_rc 0 "$name: one process"
    for n in 2 3; do
        # shellcheck disable=SC2086
        run mpi "$n" $DATA $opt --out "$TMP/mpi$n-$name.st"
        not_hung "$name over $n ranks"
        expect_rc 0 "$name over $n ranks"
        same_weights "$TMP/mpi$n-$name.st" "$TMP/one-$name.st" 1e-5 "$name: $n ranks against one"
    done
done
# the comparison can fail: two different runs differ beyond 1e-5
if [ -x "$PY" ]; then
    "$PY" "$COMPARE" "$TMP/one-sgd.st" "$TMP/one-adam.st" 1e-5 >/dev/null 2>&1 &&
        fail "the weight comparison does not tell different runs apart"
fi

# One rank is one process, bit for bit.
# shellcheck disable=SC2086
run mpi 1 $DATA --out "$TMP/mpi1.st"
expect_rc 0 "one rank"
cmp -s "$TMP/mpi1.st" "$TMP/one-sgd.st" || fail "mpirun -np 1 differs from one process"

# --deterministic: the same bits over 1, 2 and 3 ranks (the whole file:
# weights and the final figures in the metadata), with validation rows.
DET="$DATA --optimizer adam --lr 0.003 --val-split 0.2 --deterministic --parts 6"
# shellcheck disable=SC2086
run "$BP" train $DET --out "$TMP/det1.st"
expect_rc 0 "deterministic, one process"
for n in 2 3; do
    # shellcheck disable=SC2086
    run mpi "$n" $DET --out "$TMP/det$n.st"
    not_hung "deterministic over $n ranks"
    expect_rc 0 "deterministic over $n ranks"
    cmp -s "$TMP/det$n.st" "$TMP/det1.st" ||
        fail "deterministic over $n ranks: not the bits of one process"
done
# and it is a different sum from whole batches (so the check means something)
cmp -s "$TMP/det1.st" "$TMP/one-adam.st" && fail "deterministic equals whole batches"

# A CNN: over 2 ranks, the weights of one process to 1e-5, and with
# --deterministic the same bits. 300 images of 1x6x6 as CSV, 3 classes.
gradient_images 300 6 7 0.3 >"$TMP/img.csv"
CNN="--data $TMP/img.csv --net 1x6x6,conv:4:3:relu:same,maxpool:2,conv:5:2:tanh,avgpool:2,3:softmax
     --batch 50 --epochs 3 --seed 7 --threads 1 --quiet --optimizer adam --lr 0.003"
for det in "" "--deterministic --parts 4"; do
    # shellcheck disable=SC2086
    run "$BP" train $CNN $det --out "$TMP/cnn1.st"
    expect_rc 0 "CNN $det: one process"
    # shellcheck disable=SC2086
    run mpi 2 $CNN $det --out "$TMP/cnn2.st"
    not_hung "CNN $det over 2 ranks"
    expect_rc 0 "CNN $det over 2 ranks"
    if [ -n "$det" ]; then
        cmp -s "$TMP/cnn2.st" "$TMP/cnn1.st" || fail "CNN $det over 2 ranks: not the bits of one process"
    else
        same_weights "$TMP/cnn2.st" "$TMP/cnn1.st" 1e-5 "CNN: 2 ranks against one"
    fi
done

# Batch norm over the global batch: at 1, 2 and 3 ranks the weights and
# the running statistics (and num_batches_tracked) of one process to 1e-5;
# every rank ends with rank 0's weights and statistics (train checks the
# bits at the end and fails when a rank differs). 50 rows split 25/25 and
# 16/17/17; batches of 149 leave a last batch of 2 rows, so over 3 ranks
# one rank has none and still takes part in the statistics' sums. The
# convolutions have no bias: before a batch norm its slope is 0 to
# rounding, and Adam would turn that noise into steps of full size.
BN="--data $TMP/img.csv --threads 1 --quiet --optimizer adam --lr 0.003 --seed 7
    --net 1x6x6,conv:4:3:same:nobias,batchnorm,relu,maxpool:2,conv:5:2:nobias,batchnorm,tanh,avgpool:2,3:softmax"
for b in 50 149; do
    # shellcheck disable=SC2086
    run "$BP" train $BN --batch $b --epochs 3 --out "$TMP/bn1.st"
    expect_rc 0 "batch norm, batch $b: one process"
    for n in 1 2 3; do
        # shellcheck disable=SC2086
        run mpi "$n" $BN --batch $b --epochs 3 --out "$TMP/bn$n-$b.st"
        not_hung "batch norm, batch $b over $n ranks"
        expect_rc 0 "batch norm, batch $b over $n ranks"
        same_weights "$TMP/bn$n-$b.st" "$TMP/bn1.st" 1e-5 "batch norm, batch $b: $n ranks against one"
    done
    cmp -s "$TMP/bn1-$b.st" "$TMP/bn1.st" || fail "batch norm: mpirun -np 1 differs from one process"
done
if [ -x "$PY" ]; then
    "$PY" "$COMPARE" "$TMP/bn2-50.st" "$TMP/bn2-149.st" 1e-5 >"$TMP/cmp" 2>&1 &&
        fail "batch norm: batches of 50 and 149 compare equal"
    grep -q "running_mean.*difference" "$TMP/cmp" || fail "the running means were not compared"
fi
# Batch norm with --deterministic: the parts' statistics added in part
# order, the whole file the same bits over 1, 2 and 3 ranks (weights,
# running statistics, num_batches_tracked, final figures). Batches of 149
# in 4 parts leave a last batch of 2 rows: over 3 ranks, rank 0's one part
# is empty.
for b in 50 149; do
    # shellcheck disable=SC2086
    run "$BP" train $BN --batch $b --epochs 3 --deterministic --parts 4 --out "$TMP/bnd1.st"
    expect_rc 0 "batch norm, --deterministic, batch $b: one process"
    for n in 1 2 3; do
        # shellcheck disable=SC2086
        run mpi "$n" $BN --batch $b --epochs 3 --deterministic --parts 4 --out "$TMP/bnd$n-$b.st"
        not_hung "batch norm, --deterministic, batch $b over $n ranks"
        expect_rc 0 "batch norm, --deterministic, batch $b over $n ranks"
        cmp -s "$TMP/bnd$n-$b.st" "$TMP/bnd1.st" ||
            fail "batch norm, --deterministic, batch $b over $n ranks: not the bits of one process"
    done
done
# Larger parts, each layer's rows in two blocks: 700 images of 1x12x12,
# batches of 300 in 3 parts of 100 rows (and a last batch of 100).
gradient_images 700 12 9 0.4 >"$TMP/img12.csv"
BIG="--data $TMP/img12.csv --threads 1 --quiet --optimizer adam --lr 0.003 --seed 7 --batch 300
     --epochs 2 --deterministic --parts 3
     --net 1x12x12,conv:8:3:same:nobias,batchnorm,relu,maxpool:2,16:nobias,batchnorm,tanh,3:softmax"
# shellcheck disable=SC2086
run "$BP" train $BIG --out "$TMP/big1.st"
expect_rc 0 "batch norm, larger parts: one process"
for n in 2 3; do
    # shellcheck disable=SC2086
    run mpi "$n" $BIG --out "$TMP/big$n.st"
    not_hung "batch norm, larger parts over $n ranks"
    expect_rc 0 "batch norm, larger parts over $n ranks"
    cmp -s "$TMP/big$n.st" "$TMP/big1.st" ||
        fail "batch norm, larger parts over $n ranks: not the bits of one process"
done

# Only rank 0 prints and writes: one header, one log.
run mpi 3 --data spiral:101:3 --epochs 2 --seed 3 --threads 1 --out "$TMP/r.st" --log "$TMP/r.csv"
expect_rc 0 "3 ranks printing"
[ "$(grep -c '^training ' "$TMP/out")" -eq 1 ] || fail "not one header: $(cat "$TMP/out")"
has "data-parallel over 3 ranks" "the header's rank line"
[ "$(grep -c '^model written' "$TMP/out")" -eq 1 ] || fail "not one 'model written'"
[ "$(wc -l <"$TMP/r.csv")" -eq 3 ] || fail "the log: $(cat "$TMP/r.csv")"
run mpi 3 --data spiral:101:3 --deterministic --parts 2 --out "$TMP/r.st"
expect_rc 2 "--parts below the ranks"
err_has "--parts 2 is fewer than the 3 MPI ranks" "--parts below the ranks"

# Faults. A bad file on rank 1: every rank stops, rank 0 names it.
printf 'x,y,label\n1,2,0\n3,4,1\n5,6,2\n' >"$TMP/good.csv"
printf 'x,y,label\n1,2,0\n3,oops,1\n' >"$TMP/bad.csv"
printf 'x,y,label\n1,2,0\n3,4,1\n5,7,2\n' >"$TMP/other.csv"
ARGS="--net 2,8:relu,3:softmax --epochs 2 --threads 1 --out $TMP/f.st"
rc=0
# shellcheck disable=SC2086
timeout "$LIMIT" "$MPIEXEC" -np 1 "$BP" train --data "$TMP/good.csv" $ARGS \
    : -np 1 "$BP" train --data "$TMP/bad.csv" $ARGS >"$TMP/out" 2>"$TMP/err" || rc=$?
not_hung "a bad file on rank 1"
[ "$rc" -ne 0 ] || fail "a bad file on rank 1: exit status 0"
err_has "bad.csv:3: column 1 ('y'): expected a number, found 'oops'" "the bad file's message"
err_has "rank 1 of 2 failed to set up" "rank 0's message"
[ ! -e "$TMP/f.st" ] || fail "a model was written although a rank failed"
# Different data on rank 2 of 3.
rc=0
# shellcheck disable=SC2086
timeout "$LIMIT" "$MPIEXEC" -np 2 "$BP" train --data "$TMP/good.csv" $ARGS \
    : -np 1 "$BP" train --data "$TMP/other.csv" $ARGS >"$TMP/out" 2>"$TMP/err" || rc=$?
not_hung "different data on rank 2"
[ "$rc" -ne 0 ] || fail "different data on rank 2: exit status 0"
err_has "rank 2 of 3 holds different training data" "the data check's message"

# A killed rank: rank 1 records its process id, then is killed mid-training.
LONG="--data spiral:3000:3 --net 2,64:relu,3:softmax --epochs 1000000 --threads 1 --out $TMP/k.st"
rc=0
# shellcheck disable=SC2086
(s=0; timeout "$LIMIT" "$MPIEXEC" -np 1 "$BP" train $LONG \
    : -np 1 sh -c 'echo $$ >"$0"; exec "$@"' "$TMP/pid" "$BP" train $LONG \
    >"$TMP/out" 2>"$TMP/err" || s=$?; echo "$s" >"$TMP/rc") &
job=$!
i=0
until [ -s "$TMP/pid" ] && grep -q '^epoch' "$TMP/out" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || fail "the long run did not start: $(cat "$TMP/err")"
    sleep 0.1
done
kill -9 "$(cat "$TMP/pid")"
wait "$job" || true
rc=$(cat "$TMP/rc")
not_hung "a killed rank"
[ "$rc" -ne 0 ] || fail "a killed rank: exit status 0"
err_has "exited on signal 9" "mpirun's message on the killed rank"
echo "mpi: same weights over 1, 2 and 3 ranks; faults end the job"
