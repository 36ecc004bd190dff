# test_install.sh - install the built project into a scratch prefix, then
# build examples/quickstart.c against the installed copy twice: with
# pkg-config and with CMake's find_package. Both programs must learn XOR.
# Usage: sh test_install.sh BUILD_DIR EXAMPLES_DIR C_COMPILER
set -eu
BUILD=${1:?build dir}
EXAMPLES=${2:?examples dir}
CC=${3:-cc}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cmake --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 ||
    fail "cmake --install: $(cat "$TMP/install.log")"
for f in include/backprop.h bin/backprop; do
    [ -e "$TMP/prefix/$f" ] || fail "not installed: $f"
done
pc=$(find "$TMP/prefix" -name backprop.pc | head -n 1)
[ -n "$pc" ] || fail "backprop.pc not installed"
cfg=$(find "$TMP/prefix" -name backpropConfig.cmake | head -n 1)
[ -n "$cfg" ] || fail "backpropConfig.cmake not installed"
"$TMP/prefix/bin/backprop" --version | grep -q '^backprop ' || fail "installed tool does not run"

check_run() { # check_run PROGRAM: it learns XOR and reloads its model
    out=$(cd "$TMP" && LD_LIBRARY_PATH="$TMP/prefix/lib:$(dirname "$pc")/..${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$1" "$TMP/xor.safetensors") ||
        fail "$1 failed: $out"
    echo "$out" | grep -q '^trained 500 epochs' || fail "$1: $out"
    for row in "0 xor 0 = 0" "0 xor 1 = 1" "1 xor 0 = 1" "1 xor 1 = 0"; do
        line=$(echo "$out" | grep -F "$row (predicted") || fail "$1: no row '$row' in: $out"
        p=$(echo "$line" | sed 's/.*predicted \([0-9.]*\)).*/\1/')
        want=${row##* }
        awk -v p="$p" -v w="$want" 'BEGIN { exit !((w == 1 && p > 0.9) || (w == 0 && p < 0.1)) }' ||
            fail "$1: $row predicted $p"
    done
    [ -s "$TMP/xor.safetensors" ] || fail "$1 wrote no model"
}

# pkg-config
if command -v pkg-config >/dev/null 2>&1; then
    flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs backprop) || fail "pkg-config"
    # shellcheck disable=SC2086
    "$CC" -std=c11 -Wall -Wextra -Werror "$EXAMPLES/quickstart.c" $flags -o "$TMP/quickstart-pc" ||
        fail "compiling against pkg-config's flags: $flags"
    check_run "$TMP/quickstart-pc"
else
    echo "SKIP: pkg-config is not installed; the pkg-config build is not checked"
fi

# find_package
cmake -S "$EXAMPLES" -B "$TMP/build" -DCMAKE_PREFIX_PATH="$TMP/prefix" -DCMAKE_C_COMPILER="$CC" \
    >"$TMP/cfg.log" 2>&1 || fail "configuring the example: $(cat "$TMP/cfg.log")"
cmake --build "$TMP/build" >"$TMP/build.log" 2>&1 || fail "building the example: $(cat "$TMP/build.log")"
check_run "$TMP/build/quickstart"
echo "installed library, pkg-config file and CMake package work"
