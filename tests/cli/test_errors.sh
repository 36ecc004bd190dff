# test_errors.sh - every row of docs/ERRORS.md: the command runs in a
# folder of bad files made here, and must exit with the row's status and
# print the row's message on stderr (and nothing on stdout). Also checks
# that the table has rows for every class of bad input it promises.
# Usage: sh test_errors.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
DOC="$(cd "$(dirname "$0")/../.." && pwd)/docs/ERRORS.md"
[ -f "$DOC" ] || fail "no $DOC"
case $BP in /*) ;; *) BP="$(pwd)/$BP" ;; esac
D="$TMP/files"
mkdir -p "$D"
cd "$D"

# le64 N: N as 8 little-endian bytes.
le64() {
    n=$1
    i=0
    while [ "$i" -lt 8 ]; do
        printf "\\$(printf '%03o' $((n % 256)))"
        n=$((n / 256))
        i=$((i + 1))
    done
}
# safetensors FILE HEADER DATA: an 8-byte header length, the header, then
# DATA (a printf format of octal escapes).
safetensors() {
    { le64 "$(printf '%s' "$2" | wc -c)"; printf '%s' "$2"; printf "$3"; } >"$1"
}

# CSV
: >empty.csv
printf 'a,b\n' >header.csv
printf 'a,b,c\n1,2,3\n4,5\n' >ragged.csv
printf 'a,b\n1,2\n1,x\n' >text.csv
printf 'a,b\n1,nan\n' >nan.csv
printf 'a,b\n1,-inf\n' >inf.csv
printf 'a,b\n1,1e39\n' >range.csv
printf 'a,b\r\n1,2\r\n3,x\r\n' >crlf.csv
printf 'a,b\n1,\377\376\n' >bytes.csv
printf 'a,b\n1,"2\n3,4\n' >quoted.csv
printf '\377\376a\0,\0b\0' >utf16.csv
printf 'a b\n1 2\n' >onecol.csv
printf 'a,c,y\n1,red,p\n2,blue,q\n' >cats.csv
printf 'a,c,y\n1,green,p\n' >unseen.csv
printf 'a,b\n1,2.5\n2,3.5\n' >reg.csv
mkdir -p folder.csv

# IDX: two 2x2 images and their labels, then broken variants
printf '\0\0\10\3\0\0\0\2\0\0\0\2\0\0\0\2\1\2\3\4\5\6\7\10' >img.idx
printf '\0\0\10\1\0\0\0\2\1\0' >lab.idx
: >empty.idx
printf '\0\0\10\4\0\0\0\2' >magic.idx
printf '\0\0\13\3\0\0\0\2\0\0\0\2\0\0\0\2' >type.idx
printf '\0\0\10\3\377\377\377\377\377\377\377\377\377\377\377\377' >huge.idx
head -c 20 img.idx >trunc.idx
{ cat img.idx; printf 'xx'; } >trail.idx
printf '\0\0\10\1\0\0\0\3\1\0\2' >lab3.idx
gzip -n -c img.idx >img.idx.gz
size=$(wc -c <img.idx.gz)
head -c $((size - 4)) img.idx.gz >cut.idx.gz
# flip the CRC-32 (the trailer's first four bytes)
{ head -c $((size - 8)) img.idx.gz; printf '\125\125\125\125'; tail -c 4 img.idx.gz; } >crc.idx.gz

# safetensors: a valid 2,1 model (weights 1 2, bias 0), then broken ones
W='"layers.0.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}'
B='"layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}'
M='"__metadata__":{"net":"2,1"}'
DATA='\0\0\200\77\0\0\0\100\0\0\0\0'
safetensors good.safetensors "{$M,$W,$B}" "$DATA"
: >empty.safetensors
printf 'PK\3\4junkjunk' >zip.safetensors
head -c 30 good.safetensors >cut.safetensors
{ le64 1099511627776; printf '{}'; } >hugeheader.safetensors
safetensors badjson.safetensors '{"__metadata__":{"net":"2,1"' ''
safetensors array.safetensors '[1,2]' ''
safetensors bytes.safetensors "$(printf '{"__metadata__":{"net":"2,1","n\377":"v"}}')" ''
safetensors nonet.safetensors '{"__metadata__":{"nat":"2,1"}}' ''
safetensors badspec.safetensors '{"__metadata__":{"net":"2,x"}}' ''
safetensors missing.safetensors "{$M,$W}" '\0\0\200\77\0\0\0\100'
safetensors dup.safetensors "{$M,$W,$W,$B}" "$DATA"
safetensors shape.safetensors \
    "{$M,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},$B}" "$DATA"
safetensors overflow.safetensors "{$M,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]},$B}" "$DATA"
safetensors dtype.safetensors \
    "{$M,\"layers.0.weight\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[0,8]},$B}" "$DATA"
safetensors offsets.safetensors \
    "{$M,$W,\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,16]}}" "$DATA"
safetensors nan.safetensors "{$M,$W,$B}" '\0\0\200\77\0\0\0\100\0\0\300\177'
# a PyTorch state dict (no spec), and an F64 weight of 1e300
safetensors statedict.safetensors \
    '{"0.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}' "$DATA"
safetensors f64.safetensors \
    "{$M,\"layers.0.weight\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[0,16]},\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}" \
    '\0\0\0\0\0\0\360\77\234\165\0\210\74\344\67\176\0\0\0\0'

# the JSON form
printf '{"net": "2,1", "weights": [[[1, 2]]],\n "biases": [[0]], }' >comma.json
printf '{"net": "2,1", "weights": [[[1, 1e999]]]}' >inf.json
printf '{"net": "2,1", "weights": [[[1, "a"]]]}' >str.json
printf '{"net": "2,1", "weights": [[[1, 2, 3]]]}' >shape.json
printf '{"net": "2,1"}' >noweights.json
printf '{"net": "2,1", "weights": [[[1, 2]]], "note": "x"}' >extra.json
printf '{"net": "2,1:identity:nobias", "weights": [[[1e30, 1e30]]]}' >huge.json
# a classifier with its data schema: a number 'size' and a text 'color'
S='{"format": "backprop-data", "version": 1, "header": true, "columns": 3, "missing": "error", '
S=$S'"inputs": [{"name": "size", "position": 0, "kind": "number"}, {"name": "color", '
S=$S'"position": 1, "kind": "text", "values": ["blue", "red"]}], "label": {"name": "answer", '
S=$S'"position": 2, "kind": "text"}, "task": "classify", "reason": "2 distinct text labels", '
S=$S'"classes": ["no", "yes"]}'
printf '{"net": "3,2:softmax", "weights": [[[0, 1, 0], [0, 0, 1]]], "metadata": {"loss": "cce", "schema": "%s"}}' \
    "$(printf '%s' "$S" | sed 's/"/\\"/g')" >named.json
printf 'size,color\n1,green\n' >newcolor.csv
printf 'color,weight\nred,2\n' >noinput.csv
printf 'a,b,c\n1,red,3\n' >othernames.csv
printf '1,2,3,4\n' >wide.csv
printf 'a,b,y\n1e30,1e30,1\n' >big.csv

# The valid files are valid: otherwise the rows below prove nothing.
run "$BP" info --model good.safetensors
expect_rc 0 "the valid model"
run "$BP" train --data idx:img.idx,lab.idx --net 4,2:softmax --epochs 1 --out m.safetensors
expect_rc 0 "the valid IDX files"
run "$BP" train --data idx:img.idx.gz,lab.idx --net 4,2:softmax --epochs 1 --out m.safetensors
expect_rc 0 "the valid gzipped IDX file"
rm -f m.safetensors

# Every table row: | what | `backprop ARGS` | EXIT | `MESSAGE` |
grep -E '^\| [^|]+ \| `backprop ' "$DOC" >"$TMP/rows" || fail "no rows in $DOC"
rows=0
while IFS= read -r line; do
    what=$(printf '%s\n' "$line" | awk -F' [|] ' '{ print substr($1, 3) }')
    args=$(printf '%s\n' "$line" | awk -F' [|] ' '{ s = $2; sub(/^`backprop /, "", s); sub(/`$/, "", s); print s }')
    want_rc=$(printf '%s\n' "$line" | awk -F' [|] ' '{ print $3 }')
    msg=$(printf '%s\n' "$line" | awk -F' [|] ' '{ s = $4; sub(/^`/, "", s); sub(/` [|]$/, "", s); print s }')
    # shellcheck disable=SC2086
    run "$BP" $args
    expect_rc "$want_rc" "$what ($args)"
    [ "$(head -c 10 "$TMP/err")" = "backprop: " ] || fail "$what: stderr does not start 'backprop: '"
    err_has "$msg" "$what ($args)"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$what: more than one line on stderr: $(cat "$TMP/err")"
    [ ! -s "$TMP/out" ] || fail "$what: output on stdout: $(cat "$TMP/out")"
    [ ! -e m.safetensors ] && [ ! -e model.safetensors ] || fail "$what: a model was written"
    rows=$((rows + 1))
done <"$TMP/rows"

# The classes the table promises, each with at least one row.
for class in 'empty file' 'ragged rows' 'NaN' 'infinity' 'non-numeric' 'CRLF' 'non-UTF-8' \
    'wrong magic' 'truncated' 'overflows' 'a huge header' 'a directory' 'duplicate tensor' \
    'missing tensor' 'disagrees with the spec' 'bad network spec' 'bad expression' \
    'unknown option' 'out of range'; do
    grep -q -F -e "$class" "$TMP/rows" || fail "docs/ERRORS.md has no row for '$class'"
done
[ "$rows" -ge 50 ] || fail "only $rows rows ran"
echo "ok: $rows rows of docs/ERRORS.md"
