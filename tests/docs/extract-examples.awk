# Extract the runnable examples of a document, for run-examples.sh.
#
#   awk -v format=markdown|roff -f extract-examples.awk FILE
#
# Markdown (README.md): every fenced block must name its kind after the
# fence. "```console" is a shell session that is run; "```c NAME" (or any
# language followed by a file name) is written to NAME in the session's
# directory; others ("```text", "```sh", "```c" without a name) are shown
# only, and must not hold "$ " session lines.
#
# Roff (man pages): in the EXAMPLES section, each .EX/.EE block is either a
# session (its first line starts with "$ ") or, after a comment line
# '.\" file: NAME', a file written to NAME. Roff escapes are undone (\- \e
# \(aq \(dq \(ga \& \(rs); any other backslash is an error, since groff would
# not show it as written.
#
# In a session, "$ COMMAND" lines are commands (a trailing backslash
# continues one on the next line); the lines after one are its output.
#
# Output, one record per line, fields separated by a tab:
#   B <kind> <name> <file:line>   a block: kind "session" or "file"
#   C <line> <text>               a command's first line, and where it is
#   c <text>                      a command's continuation line
#   O <text>                      an expected output line
#   F <text>                      a line of a file block
#   E                             end of the block
#   X <file:line> <message>       a mistake in the document

function err(msg) {
        printf "X\t%s:%d\t%s\n", FILENAME, FNR, msg
}

function begin_block(kind, name) {
        printf "B\t%s\t%s\t%s:%d\n", kind, name, FILENAME, FNR
        block = kind
        continued = 0
        first = 1
}

function end_block() {
        if (block == "session" || block == "file")
                print "E"
        block = ""
}

# One line of a block's body.
function body(text) {
        if (block == "file") {
                print "F\t" text
                return
        }
        if (block != "session")
                return
        if (first && text !~ /^\$ /)
                err("a session must start with a \"$ \" command line")
        first = 0
        if (continued) {
                sub(/^> /, "", text)
                print "c\t" text
        } else if (text ~ /^\$ /) {
                print "C\t" FNR "\t" substr(text, 3)
        } else {
                print "O\t" text
                return
        }
        continued = text ~ /\\$/
}

# Undo roff escapes; complain about any other backslash.
function unroff(s,    out, i, c, two) {
        out = ""
        for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c != "\\") {
                        out = out c
                        continue
                }
                two = substr(s, i + 1, 1)
                if (two == "-") { out = out "-"; i++ }
                else if (two == "e" || two == "\\") { out = out "\\"; i++ }
                else if (two == "&") { i++ }
                else if (substr(s, i + 1, 3) == "(aq") { out = out "'"; i += 3 }
                else if (substr(s, i + 1, 3) == "(dq") { out = out "\""; i += 3 }
                else if (substr(s, i + 1, 3) == "(ga") { out = out "`"; i += 3 }
                else if (substr(s, i + 1, 3) == "(rs") { out = out "\\"; i += 3 }
                else {
                        err("roff escape \\" two " in an example: write \\e for a backslash")
                        out = out c
                }
        }
        return out
}

BEGIN {
        block = ""
        in_fence = 0
        in_examples = 0
        in_ex = 0
        pending = ""
}

format == "markdown" && /^[ \t]*```/ {
        if (!in_fence) {
                info = $0
                sub(/^[ \t]*```[ \t]*/, "", info)
                in_fence = 1
                if (info == "") {
                        err("a code block without a kind: write ```console (run), ```text (shown only), ...")
                        block = "shown"
                } else if (info ~ /^console([ \t]|$)/) {
                        begin_block("session", "-")
                } else if (split(info, w, /[ \t]+/) >= 2) {
                        begin_block("file", w[2])
                } else {
                        block = "shown"
                }
        } else {
                in_fence = 0
                end_block()
        }
        next
}

format == "markdown" && in_fence {
        if (block == "shown") {
                if ($0 ~ /^\$ /)
                        err("a \"$ \" session line in a block that is not run: make it ```console")
                next
        }
        body($0)
        next
}

format == "roff" && /^\.SH/ {
        in_examples = $0 ~ /^\.SH[ \t]+"?EXAMPLES?"?[ \t]*$/
        next
}

format == "roff" && in_examples && /^\.\\" file: / {
        pending = $0
        sub(/^\.\\" file: */, "", pending)
        next
}

format == "roff" && in_examples && /^\.nf/ {
        err("an example in .nf/.fi is not run: use .EX/.EE")
        next
}

format == "roff" && in_examples && /^\.EX/ {
        in_ex = 1
        if (pending != "")
                begin_block("file", pending)
        else
                begin_block("session", "-")
        pending = ""
        next
}

format == "roff" && in_ex && /^\.EE/ {
        in_ex = 0
        end_block()
        next
}

format == "roff" && in_ex {
        if ($0 ~ /^[.']/)
                err("a line starting with . or ' in an example is a roff request: write \\&. instead")
        body(unroff($0))
        next
}

END {
        if (in_fence || in_ex)
                err("the document ends inside a code block")
}
