# test_errors_write.sh - a write that fails leaves the previous file
# intact: the model (--out), the metrics log (--log) and the checkpoint
# (--checkpoint) on a full disk (a 64 KiB tmpfs) and in a read-only folder
# (a read-only tmpfs as root, a folder without write permission otherwise),
# with a clear error, exit status 1 and no temporary file left behind.
# Usage: sh test_errors_write.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
MNT="$TMP/mnt"
mkdir -p "$MNT"
mounted=0
cleanup() {
    [ "$mounted" -eq 1 ] && umount "$MNT" 2>/dev/null
    chmod -R u+w "$TMP" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# A small previous model, log and checkpoint to protect.
run "$BP" train --data xor --net 2,2:tanh,1:sigmoid --epochs 2 --quiet --out "$TMP/prev.safetensors" \
    --log "$TMP/prev.csv" --checkpoint "$TMP/prev.ckpt"
expect_rc 0 "the previous files"
# A big model: 2-256-256-3 has 67,331 parameters, 269 KB of weights.
BIG="--data spiral:20:3 --net 2,256:relu,256:relu,3:softmax --epochs 1 --quiet"

# check_kept WHAT: the protected files in $MNT are byte for byte the
# previous ones and nothing else is there.
check_kept() {
    cmp -s "$MNT/m.safetensors" "$TMP/prev.safetensors" || fail "$1: the previous model changed"
    cmp -s "$MNT/log.csv" "$TMP/prev.csv" || fail "$1: the previous log changed"
    cmp -s "$MNT/c.ckpt" "$TMP/prev.ckpt" || fail "$1: the previous checkpoint changed"
    [ "$(ls -A "$MNT" | wc -l)" -eq 3 ] || fail "$1: files left behind: $(ls -A "$MNT")"
}
place() {
    cp "$TMP/prev.safetensors" "$MNT/m.safetensors"
    cp "$TMP/prev.csv" "$MNT/log.csv"
    cp "$TMP/prev.ckpt" "$MNT/c.ckpt"
}

# Full disk.
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=64k tmpfs "$MNT" 2>/dev/null; then
    mounted=1
    place
    # shellcheck disable=SC2086
    run "$BP" train $BIG --out "$MNT/m.safetensors"
    expect_rc 1 "model on a full disk"
    err_has "backprop: cannot write $MNT/m.safetensors: No space left on device" "model on a full disk"
    check_kept "model on a full disk"
    # shellcheck disable=SC2086
    run "$BP" train $BIG --out "$TMP/big.safetensors" --checkpoint "$MNT/c.ckpt"
    expect_rc 1 "checkpoint on a full disk"
    err_has "backprop: --checkpoint: cannot write $MNT/c.ckpt: No space left on device" \
        "checkpoint on a full disk"
    check_kept "checkpoint on a full disk"
    # fill what is left, then the log cannot be written either
    head -c 65536 /dev/zero >"$MNT/fill" 2>/dev/null || true
    run "$BP" train --data xor --net 2,2:tanh,1:sigmoid --epochs 300 --quiet \
        --out "$TMP/x.safetensors" --log "$MNT/log.csv"
    expect_rc 1 "log on a full disk"
    err_has "log.csv: write failed" "log on a full disk"
    grep -q "\.tmp" "$TMP/err" && fail "log on a full disk: the temporary file is named"
    rm -f "$MNT/fill"
    check_kept "log on a full disk"
    # Read-only.
    mount -o remount,ro "$MNT" || fail "cannot remount the tmpfs read-only"
    ro="a read-only file system"
else
    echo "SKIP: full disk (mounting a tmpfs needs root); read-only by permissions only"
    place
    chmod a-w "$MNT"
    ro="a folder without write permission"
fi
if [ "$(id -u)" -ne 0 ] || [ "$mounted" -eq 1 ]; then
    run "$BP" train --data xor --epochs 1 --quiet --out "$MNT/m.safetensors"
    expect_rc 1 "model in $ro"
    err_has "m.safetensors" "model in $ro"
    check_kept "model in $ro"
    run "$BP" train --data xor --epochs 1 --quiet --out "$TMP/x.safetensors" --log "$MNT/log.csv"
    expect_rc 1 "log in $ro"
    check_kept "log in $ro"
    run "$BP" train --data xor --epochs 1 --quiet --out "$TMP/x.safetensors" --checkpoint "$MNT/c.ckpt"
    expect_rc 1 "checkpoint in $ro"
    err_has "c.ckpt" "checkpoint in $ro"
    check_kept "checkpoint in $ro"
fi
echo "ok"
