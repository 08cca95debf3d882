#!/usr/bin/env bash
# Generates include/bsfit.h from capi/src with cbindgen (no build needed).
#
#   capi/gen_header.sh           write include/bsfit.h
#   capi/gen_header.sh --check   fail if include/bsfit.h differs from a fresh generation
#
# The version macros (BSFIT_VERSION_MAJOR/MINOR/PATCH/STRING) come from
# capi/Cargo.toml. Installs the pinned cbindgen with `cargo install` if it is
# missing or another version (another version may format the header differently).
set -euo pipefail

CBINDGEN_VERSION=0.29.2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
header="$root/include/bsfit.h"

cbindgen_bin="$(command -v cbindgen || true)"
if [[ -z "$cbindgen_bin" ]] || [[ "$("$cbindgen_bin" --version)" != "cbindgen $CBINDGEN_VERSION" ]]; then
    echo "gen_header: installing cbindgen $CBINDGEN_VERSION" >&2
    cargo install cbindgen --locked --version "$CBINDGEN_VERSION" >&2
    cbindgen_bin="${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen"
fi

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/capi/Cargo.toml" | head -1)"
IFS=. read -r major minor patch <<<"${version%%-*}"
tmpdir="$(mktemp -d)"
trap 'rm -rf "$tmpdir"' EXIT
sed -e "s/@VERSION_MAJOR@/$major/" -e "s/@VERSION_MINOR@/$minor/" \
    -e "s/@VERSION_PATCH@/$patch/" -e "s/@VERSION@/$version/" \
    "$root/capi/cbindgen.toml" > "$tmpdir/cbindgen.toml"

generate() {
    (cd "$root/capi" && "$cbindgen_bin" --quiet --config "$tmpdir/cbindgen.toml" --output "$1" .)
}

if [[ "${1:-}" == "--check" ]]; then
    generate "$tmpdir/bsfit.h"
    if ! diff -u "$header" "$tmpdir/bsfit.h"; then
        echo "gen_header: include/bsfit.h is stale; run capi/gen_header.sh and commit it" >&2
        exit 1
    fi
    # ASCII only, so that no compiler's source code page can trip on it.
    if LC_ALL=C grep -n $'[\x80-\xff]' "$header"; then
        echo "gen_header: include/bsfit.h has non-ASCII characters (from doc comments in capi/src)" >&2
        exit 1
    fi
    echo "gen_header: include/bsfit.h is up to date"
else
    mkdir -p "$(dirname "$header")"
    generate "$header"
    echo "gen_header: wrote include/bsfit.h"
fi
