# test_docs.sh - the docs are tested: every `backprop ...` command in a
# fenced block of README.md and docs/tutorial.md runs, in a scratch folder
# per document (in the document's order, so a later command finds the files
# an earlier one wrote), with the built tool in place of `backprop`; it must
# exit 0, and the output the document shows after it must be what it prints.
# Usage: sh test_docs.sh PATH_TO_backprop
#
# How a document shows a command and its output, in a fenced block:
#   $ backprop eval --model m.json --data d.csv     a command (after "$ ")
#   loss 37.5  n 4                                  the lines it prints
#   ...                                             any number of lines
#   epoch 10/10  loss 0.2162  ...                   a line's first words
# A command may go on over lines that end in a backslash. A line that
# starts with `backprop ` (no "$ ") is a command whose output is not shown
# (only its exit status is checked); a ` # comment` after it is dropped.
# Other programs' commands (make, mpirun) are not run.
# Lines are compared word by word (runs of blanks are one blank). The
# output must follow from its first line, and end where the doc's ends,
# unless a "..." stands there.
#
# Figures that are not the same everywhere are marked in the document, in
# an HTML comment (invisible when rendered) just above the block:
#   <!-- cpu-dependent: test_acc ±1 loss ±0.005 -->
#       a figure next to the word test_acc (the word before it, or after it
#       for units) may differ from the doc's by up to 1 (a % sign is
#       ignored), loss by 0.005; every other figure is compared exactly.
# A marker applies to the next block only.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BP=$(cd "$(dirname "$BP")" && pwd)/$(basename "$BP")

# Commands that cannot run here, each with the reason: a fixed string the
# joined command line contains, a tab, and why.
SKIP=$(printf '%s\t%s\n' \
    "--data my.csv" "the user's own file, which the doc does not create")

# Fashion-MNIST comes from Debian's dataset-fashion-mnist; without it, the
# commands that read it are left out (the rest still run).
have_fashion=0
for d in "${BACKPROP_DATA:-/nonexistent}" "${BACKPROP_DATA:-/nonexistent}/fashion-mnist" \
    /usr/share/datasets/fashion-mnist; do
    [ -f "$d/t10k-labels-idx1-ubyte.gz" ] && have_fashion=1
done
if [ "$have_fashion" = 0 ]; then
    echo "note: Fashion-MNIST is not installed; its commands are left out"
elif [ -n "${BP_DOCS_NO_FASHION:-}" ]; then
    # the sanitizer build: ten epochs of Fashion-MNIST there outlast the test's limit
    have_fashion=0
    echo "note: BP_DOCS_NO_FASHION is set; the Fashion-MNIST commands are left out"
fi

# extract DOC: the cases of DOC, one record per command: a line "C<TAB>
# command" ("R<TAB>command" for one whose output is not shown), then
# "T<TAB>tols" (NAME TOL pairs) when the block is marked, and the
# doc's output lines as "E<TAB>line".
extract() {
    awk '
    function emit() { print (shown ? "C\t" : "R\t") text; if (tol != "") print "T\t" tol }
    # a command line: drop a trailing comment; cont says whether it goes on
    function part(line) {
        sub(/^[ \t]+/, "", line); sub(/[ \t]+#.*$/, "", line)
        cont = sub(/[ \t]*\\$/, "", line)
        return line
    }
    /^```/ {
        if (!inblock) { inblock = 1; tol = pending; pending = "" } else { inblock = 0; tol = "" }
        shown = 0; cont = 0; next
    }
    !inblock {
        if (match($0, /<!-- *cpu-dependent:[^>]*-->/)) {
            t = substr($0, RSTART, RLENGTH); sub(/<!-- *cpu-dependent: */, "", t)
            sub(/ *-->/, "", t); gsub(/±/, "", t); pending = pending " " t
        }
        next
    }
    cont { text = text " " part($0); if (!cont) emit(); next }
    /^\$ backprop / || /^backprop / {
        shown = $0 ~ /^\$ /
        line = $0; sub(/^\$ /, "", line); text = part(line)
        if (!cont) emit()
        next
    }
    /^\$ / { shown = 0; next }
    shown { print "E\t" $0 }
    ' "$1"
}

# compare EXPECTED ACTUAL TOLS: the doc's lines against the output; prints
# the first difference and fails (exit 1) when they differ.
compare() {
    awk -v tols="$3" '
    function isnum(s) { return s ~ /^[-+(]?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?%?[),]?$/ }
    function val(s) { gsub(/[()%,+]/, "", s); return s + 0 }
    # same(e, a): the doc line e and the output line a agree.
    function same(e, a,    ne, na, we, wa, i, name, d) {
        ne = split(e, we, /[ \t]+/); na = split(a, wa, /[ \t]+/)
        if (ne > 1 && we[ne] == "...") { if (na < --ne) return 0 } # the rest of the line
        else if (ne != na) return 0
        for (i = 1; i <= ne; i++) {
            if (we[i] == wa[i]) continue
            if (!isnum(we[i]) || !isnum(wa[i])) return 0
            d = val(we[i]) - val(wa[i]); if (d < 0) d = -d
            name = i > 1 ? we[i - 1] : ""
            if (name in tol && d <= tol[name] + 1e-12) continue
            name = i < ne ? we[i + 1] : ""
            if (name in tol && d <= tol[name] + 1e-12) continue
            return 0
        }
        return 1
    }
    BEGIN {
        n = split(tols, t, / +/)
        for (i = 1; i <= n; i++) {
            if (t[i] != "") { sub(/%$/, "", t[i + 1]); tol[t[i]] = t[i + 1] + 0; i++ }
        }
    }
    FILENAME == ARGV[1] { sub(/^[ \t]+/, ""); sub(/[ \t]+$/, ""); exp_[++ne] = $0; next }
    { sub(/^[ \t]+/, ""); sub(/[ \t]+$/, ""); act[++na] = $0 }
    END {
        pos = 1; gap = 0
        for (k = 1; k <= ne; k++) {
            if (exp_[k] == "...") { gap = 1; continue }
            from = pos
            if (gap) { while (pos <= na && !same(exp_[k], act[pos])) pos++ }
            if (pos > na || !same(exp_[k], act[pos])) {
                print "  the doc shows: " exp_[k]
                if (gap) { # the line of the output most like it: the same first word
                    split(exp_[k], w1, /[ \t]+/); like = "(no line like it)"
                    for (j = from; j <= na; j++) { split(act[j], w2, /[ \t]+/); if (w2[1] == w1[1]) like = act[j] }
                    print "  it printed:    " like
                } else
                    print "  it printed:    " (pos <= na ? act[pos] : "(nothing more)")
                exit 1
            }
            pos++; gap = 0
        }
        if (!gap && pos <= na) { print "  it printed more: " act[pos]; exit 1 }
    }' "$1" "$2"
}

failures=0
# run_doc DOC: every command of DOC, in a scratch folder of its own.
run_doc() {
    doc=$1
    work="$TMP/$(basename "$doc" .md)"
    mkdir -p "$work"
    cp -R "$ROOT/examples" "$work/examples"
    extract "$ROOT/$doc" >"$TMP/cases"
    printf 'C\tend\n' >>"$TMP/cases"
    cmd=""
    mode=""
    : >"$TMP/expected"
    tols=""
    gone=" "
    while IFS="$(printf '\t')" read -r kind text; do
        case $kind in
        E) printf '%s\n' "$text" >>"$TMP/expected"; continue ;;
        T) tols=$text; continue ;;
        esac
        [ -n "$cmd" ] && check "$doc" "$work" "$cmd" "$tols" "$mode"
        cmd=$text
        mode=$kind
        tols=""
        : >"$TMP/expected"
    done <"$TMP/cases"
}

# check DOC WORK COMMAND TOLS MODE: run one command and, for MODE C,
# compare its output with the doc's.
check() {
    [ "$3" = end ] && return 0
    why=$(printf '%s\n' "$SKIP" | while IFS="$(printf '\t')" read -r pat reason; do
        case $3 in *"$pat"*) echo "$reason"; break ;; esac
    done)
    if [ -n "$why" ]; then
        echo "skip ($1): $3: $why"
        return 0
    fi
    # Without Fashion-MNIST, its commands are left out, and so are those
    # that read a file one of them would have written.
    for f in $gone; do
        case " $3 " in *" $f "*) return 0 ;; esac
    done
    case $3 in *fashion-mnist*)
        if [ "$have_fashion" = 0 ]; then
            gone="$gone $(printf '%s\n' "$3" | awk '{
                for (i = 1; i < NF; i++) if ($i ~ /^--(out|log|report|checkpoint)$/) print $(i + 1) }')"
            return 0
        fi ;;
    esac
    rest=${3#backprop }
    rc=0
    (cd "$2" && eval "\"\$BP\" $rest") >"$TMP/actual" 2>"$TMP/stderr" </dev/null || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL ($1): $3: exit status $rc: $(head -n 3 "$TMP/stderr")"
        failures=$((failures + 1))
        return 0
    fi
    [ "$5" = C ] || return 0
    if ! compare "$TMP/expected" "$TMP/actual" "$4" >"$TMP/diff"; then
        echo "FAIL ($1): $3:"
        cat "$TMP/diff"
        failures=$((failures + 1))
    fi
    return 0
}

for d in README.md docs/tutorial.md; do
    run_doc "$d"
done
[ "$failures" -eq 0 ] || fail "$failures command(s) of the docs differ from what they show"
echo "ok: docs"
