# test_data_shape.sh - data against a network's input shape: IDX images
# train a network of their CxHxW or a flat one of their width, and are
# refused, naming both shapes and writing nothing, by a network of another
# shape (the same width or not), in train, predict and eval; a CSV trains a
# spatial network of its width and is refused by one of another width, the
# network's CxHxW named; a model whose conv tensors disagree with its spec
# is refused naming both shapes.
# Usage: sh test_data_shape.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
case $BP in /*) ;; *) BP="$(pwd)/$BP" ;; esac
cd "$TMP"
export LC_ALL=C

# byte N: the byte of value N (0 to 255).
byte() {
    # shellcheck disable=SC2059
    printf "\\$(printf '%03o' "$1")"
}
# idx H W: imgHW.idx, 6 images of H x W (bytes 1 to 100), and lab.idx,
# their labels 0 1 2 0 1 2.
idx() {
    h=$1 w=$2
    {
        printf '\0\0\10\3\0\0\0\6\0\0\0'
        byte "$h"
        printf '\0\0\0'
        byte "$w"
        awk -v n=$((6 * h * w)) 'BEGIN { for (i = 0; i < n; i++) printf "%c", (i * 7) % 100 + 1 }'
    } >"img$h$w.idx"
    printf '\0\0\10\1\0\0\0\6\0\1\2\0\1\2' >lab.idx
}
idx 4 6
idx 6 4
[ "$(wc -c <img46.idx)" -eq 160 ] || fail "the IDX file has $(wc -c <img46.idx) bytes, not 160"
TRAIN="--epochs 1 --batch 3 --seed 2 --quiet"

# The images' own shape, and a flat network of their width, train.
# shellcheck disable=SC2086
run "$BP" train --data idx:img46.idx,lab.idx --net 1x4x6,conv:2:3:relu,3:softmax $TRAIN --out m.st
expect_rc 0 "a network of the images' shape"
# shellcheck disable=SC2086
run "$BP" train --data idx:img46.idx,lab.idx --net 24,3:softmax $TRAIN --out flat.st
expect_rc 0 "a flat network of the images' width"

# Another shape of the same width, and another width.
for net in "1x6x4,conv:2:3:relu,3:softmax" "2x2x6,conv:2:1,3:softmax"; do
    shape=${net%%,*}
    # shellcheck disable=SC2086
    run "$BP" train --data idx:img46.idx,lab.idx --net "$net" $TRAIN --out x.st
    expect_rc 2 "$shape against 1x4x6 images"
    err_has "backprop: --net: the training data are 1x4x6 images; the network takes $shape (the same 24 inputs in another shape)" \
        "$shape against 1x4x6 images"
done
# shellcheck disable=SC2086
run "$BP" train --data idx:img46.idx,lab.idx --net 1x5x5,conv:2:3:relu,3:softmax $TRAIN --out x.st
expect_rc 2 "1x5x5 against 1x4x6 images"
err_has "backprop: --net: the training data have 24 inputs (1x4x6); the network takes 25 (1x5x5)" \
    "1x5x5 against 1x4x6 images"
# shellcheck disable=SC2086
run "$BP" train --data idx:img46.idx,lab.idx --test idx:img64.idx,lab.idx \
    --net 1x4x6,conv:2:3:relu,3:softmax $TRAIN --out x.st
expect_rc 1 "--test images of another shape"
err_has "backprop: --test: the test data are 1x6x4 images; the network takes 1x4x6" "--test images of another shape"
[ ! -e x.st ] || fail "a model was written for data of another shape"

# A model of 1x4x6 predicts and evaluates 4x6 images, not 6x4 ones.
run "$BP" predict --model m.st --data idx:img46.idx,lab.idx --out p.csv
expect_rc 0 "predict images of the model's shape"
[ "$(wc -l <p.csv)" -eq 7 ] || fail "predict wrote $(wc -l <p.csv) lines, not 7"
run "$BP" predict --model m.st --data idx:img64.idx,lab.idx --out q.csv
expect_rc 1 "predict images of another shape"
err_has "backprop: the data are 1x6x4 images; the network takes 1x4x6 (the same 24 inputs in another shape)" \
    "predict images of another shape"
[ ! -e q.csv ] || fail "predict wrote rows for images of another shape"
run "$BP" eval --model m.st --data idx:img64.idx,lab.idx
expect_rc 1 "eval images of another shape"
err_has "the data are 1x6x4 images; the network takes 1x4x6" "eval images of another shape"
run "$BP" predict --model flat.st --data idx:img64.idx,lab.idx --out q.csv
expect_rc 0 "a flat model predicts images of any shape of its width"

# CSV: a table of 24 inputs trains 1x4x6 (read as C, H, W); 20 inputs do not.
awk 'BEGIN { for (r = 0; r < 9; r++) { for (i = 0; i < 24; i++) printf "%d,", (r * 5 + i * 3) % 11; print r % 3 } }' >t24.csv
awk 'BEGIN { for (r = 0; r < 9; r++) { for (i = 0; i < 20; i++) printf "%d,", (r * 5 + i * 3) % 11; print r % 3 } }' >t20.csv
# shellcheck disable=SC2086
run "$BP" train --data t24.csv --net 1x4x6,conv:2:3:relu,3:softmax $TRAIN --out c.st
expect_rc 0 "a CSV of the network's width"
# shellcheck disable=SC2086
run "$BP" train --data t20.csv --net 1x4x6,conv:2:3:relu,3:softmax $TRAIN --out x.st
expect_rc 2 "a CSV of another width"
err_has "backprop: --net: the training data have 20 inputs; the network takes 24 (1x4x6)" \
    "a CSV of another width"
[ ! -e x.st ] || fail "a model was written for a CSV of another width"

# A model whose spec says 3 filters of 2x2 over tensors of 2 filters of 3x3.
sed 's/1x4x6,conv:2:3:relu/1x4x6,conv:3:2:relu/g' m.st >bad.st
cmp -s m.st bad.st && fail "the spec in the model was not changed"
run "$BP" predict --model bad.st --data idx:img46.idx,lab.idx
expect_rc 1 "conv tensors that disagree with the spec"
err_has "backprop: bad.st: tensor 'layers.0.weight': shape is [2, 1, 3, 3], not [3, 1, 2, 2] as the spec 1x4x6,conv:3:2:relu,3:softmax requires" \
    "conv tensors that disagree with the spec"
echo "ok"
