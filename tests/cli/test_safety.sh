# test_safety.sh - nothing of the user's is lost: an output that is the same
# file as an input of the command (or as another output) is refused before
# any work with exit 2 and the input left byte for byte as it was; train
# without --out never replaces an earlier model; --out NAME.onnx and NAME.c
# write those formats, .json is refused; a checkpoint serves as a model.
# Usage: sh test_safety.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

cd "$TMP"
printf 'a,b,y\n0,1,0\n1,0,1\n1,1,0\n0,0,1\n0.5,0.2,1\n0.1,0.9,0\n' >d.csv
run "$BP" train --data xor --epochs 3 --out m.safetensors --quiet
expect_rc 0 "a model to read"

# refused CMD...: exit 2, the message names the same file, and every file
# of the folder (inputs included) is unchanged.
refused() {
    what=$1
    shift
    before=$(cksum d.csv m.safetensors)
    ls >"$TMP/ls.before"
    run "$@"
    expect_rc 2 "$what"
    err_has "name the same file" "$what"
    [ "$(cksum d.csv m.safetensors)" = "$before" ] || fail "$what: an input changed"
    ls | cmp -s - "$TMP/ls.before" || fail "$what: files appeared: $(ls)"
}
refused "train --out the data" "$BP" train --data d.csv --out d.csv --epochs 2
err_has "--out and --data name the same file 'd.csv'" "train --out the data"
refused "train --log the data" "$BP" train --data d.csv:label=y --log ./d.csv --epochs 2
err_has "--log and --data name the same file 'd.csv'" "train --log the data"
refused "train --report the data" "$BP" train --data csv:d.csv --report d.csv --epochs 2
refused "train --checkpoint the data" "$BP" train --data d.csv --checkpoint "$TMP/d.csv" --epochs 2
refused "train --out the test data" "$BP" train --data xor --test d.csv --out d.csv
refused "train --out the --init model" "$BP" train --data xor --init m.safetensors --out m.safetensors
err_has "--out and --init name the same file 'm.safetensors'" "train --out the --init model"
refused "train --log the --init model" "$BP" train --data xor --init m.safetensors --log ./m.safetensors
refused "train --out equals --log" "$BP" train --data xor --out x.safetensors --log ./x.safetensors
ln d.csv link.csv
cp d.csv "my,d.csv"
before=$(cksum "my,d.csv")
run "$BP" train --data "csv:my,d.csv:label=y" --log "my,d.csv"
expect_rc 2 "train --log a csv: file with a comma in its name"
[ "$(cksum "my,d.csv")" = "$before" ] || fail "a file with a comma in its name changed"
refused "train --out a hard link of the data" "$BP" train --data link.csv --out d.csv
rm link.csv
refused "predict --out the data" "$BP" predict --model m.safetensors --data d.csv:label=y --out d.csv
refused "predict --out the model" "$BP" predict --model m.safetensors --data xor --out m.safetensors
refused "export --out the model" "$BP" export --model m.safetensors --out m.safetensors --format onnx
err_has "--out and --model name the same file 'm.safetensors'" "export --out the model"
refused "report --out the data" "$BP" report --log x.csv --model m.safetensors --data d.csv --out d.csv
refused "lr-find --plot the data" "$BP" lr-find --data d.csv --plot d.csv
refused "regions --out the data" "$BP" regions --data d.csv --out d.csv
# both idx files are inputs
printf 'x' >img.idx
printf 'y' >lab.idx
before=$(cksum lab.idx)
run "$BP" train --data idx:img.idx,lab.idx --out lab.idx
expect_rc 2 "train --out an idx file"
err_has "--out and --data name the same file 'lab.idx'" "train --out an idx file"
[ "$(cksum lab.idx)" = "$before" ] || fail "train --out an idx file: changed"

# train without --out: model.safetensors, then model-2.safetensors; the
# first is kept byte for byte.
mkdir runs
cd runs
run "$BP" train --data xor --epochs 2
expect_rc 0 "first unnamed run"
has "model written to model.safetensors" "first unnamed run"
first=$(cksum model.safetensors)
run "$BP" train --data xor --epochs 3 --seed 2 --json
expect_rc 0 "second unnamed run"
has '"model": "model-2.safetensors"' "second unnamed run --json"
[ "$(cksum model.safetensors)" = "$first" ] || fail "the first model was replaced"
run "$BP" eval --model model-2.safetensors --data xor
expect_rc 0 "the second model loads"
# report without --out: report.html, then report-2.html
run "$BP" train --data xor --epochs 2 --out r.safetensors --log r.csv --quiet
expect_rc 0 "a run to report"
run "$BP" report --log r.csv --model r.safetensors --data xor
expect_rc 0 "first unnamed report"
page=$(cksum report.html)
run "$BP" report --log r.csv --model r.safetensors --data xor
expect_rc 0 "second unnamed report"
has "report-2.html" "second unnamed report"
[ "$(cksum report.html)" = "$page" ] || fail "the first report was replaced"
cd ..

# --out picks the format by its extension.
run "$BP" train --data xor --epochs 3 --out net.onnx --quiet
expect_rc 0 "train --out net.onnx"
[ "$(head -c 12 net.onnx | od -An -c | tr -d ' ')" = '\b\a022\bbackprop' ] ||
    fail "net.onnx does not start as backprop's ONNX files do"
run "$BP" info --model net.onnx
expect_rc 0 "info on the ONNX file"
has "format: ONNX, IR version 7, opset 13" "info on the ONNX file"
run "$BP" train --data d.csv --standardize --epochs 3 --out net.c --quiet
expect_rc 0 "train --out net.c"
grep -q "void predict(const float \*x, float \*y)" net.c || fail "net.c has no predict function"
if command -v cc >/dev/null 2>&1; then
    cc -std=c99 -c net.c -o net.o || fail "net.c does not compile"
fi
run "$BP" train --data xor --epochs 3 --out net.json
expect_rc 2 "train --out net.json"
err_has "not the hand-written JSON form" "train --out net.json"
[ ! -e net.json ] || fail "net.json was written"

# A checkpoint serves as a model: eval, predict, export, info, --init.
run "$BP" train --data d.csv --standardize --epochs 4 --batch 2 --checkpoint run.ckpt --out run.safetensors --quiet
expect_rc 0 "a run with a checkpoint"
run "$BP" eval --model run.ckpt --data d.csv
expect_rc 0 "eval of a checkpoint"
run "$BP" eval --model run.safetensors --data d.csv
cp "$TMP/out" eval.model
run "$BP" eval --model run.ckpt --data d.csv
cmp -s "$TMP/out" eval.model || fail "the checkpoint's figures differ from the model's: $(cat "$TMP/out") vs $(cat eval.model)"
run "$BP" predict --model run.ckpt --data d.csv --out p.ckpt.csv
expect_rc 0 "predict from a checkpoint"
run "$BP" predict --model run.safetensors --data d.csv --out p.model.csv
cmp -s p.ckpt.csv p.model.csv || fail "predictions from the checkpoint differ (scaling lost?)"
run "$BP" export --model run.ckpt --out run.onnx
expect_rc 0 "export of a checkpoint"
run "$BP" info --model run.ckpt
expect_rc 0 "info on a checkpoint"
has "checkpoint          epoch 4, batch 3" "info on a checkpoint"
has "scaling " "info on a checkpoint keeps the scaling"
run "$BP" train --data d.csv --init run.ckpt --epochs 1 --out init.safetensors --quiet
expect_rc 0 "train --init a checkpoint"
# --resume and --checkpoint on the same file continue the run; --epochs may
# grow.
run "$BP" train --data d.csv --standardize --epochs 6 --batch 2 --resume run.ckpt --checkpoint run.ckpt \
    --out run6.safetensors --quiet
expect_rc 0 "resume into the same checkpoint with more epochs"
run "$BP" info --model run.ckpt
has "checkpoint          epoch 6, batch 3" "the checkpoint went on to epoch 6"

# A run whose loss runs away says what to try and exits 1 (the target is
# standardized, so a far too large --lr is what makes it run away).
printf 'x,y\n1,100000\n2,200000\n3,300000\n4,400000\n' >big.csv
run "$BP" train --data big.csv --epochs 20 --lr 50 --out big.safetensors
expect_rc 1 "a diverging regression"
err_has "training diverged: try a lower --lr" "a diverging regression"
if [ -e big.safetensors ]; then
    run "$BP" info --model big.safetensors
    has "diverged " "a diverged model is marked"
    run "$BP" eval --model big.safetensors --data big.csv
    grep -q -E "loss (inf|nan)" "$TMP/out" && fail "a written model gives a non-finite loss"
fi
echo "ok"
