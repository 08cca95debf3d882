#!/usr/bin/env bash
# CI for the C ABI. Run from the repository root:  capi/ci.sh
#
# Builds libbsfit (release), checks that include/bsfit.h matches the sources,
# then compiles and runs the C test (gcc, C11) and the C++ example (g++, C++17)
# against the static library. Needs Rust, gcc and g++; installs the pinned
# cbindgen itself if missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CC="${CC:-gcc}"
CXX="${CXX:-g++}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
LIB="$TARGET_DIR/release/libbsfit.a"
OUT="$TARGET_DIR/capi"
# What a Rust static library needs from the system.
LIBS=(-lpthread -ldl -lm)

echo "== cargo build --release -p bsfit-capi"
cargo build --release -p bsfit-capi

echo "== header freshness"
capi/gen_header.sh --check

mkdir -p "$OUT"
echo "== C test (gcc -std=c11)"
"$CC" -std=c11 -Wall -Wextra -Werror -O2 -Iinclude \
    capi/tests/test_capi.c "$LIB" "${LIBS[@]}" -o "$OUT/test_capi"
"$OUT/test_capi"
"$CC" -std=c11 -Wall -Wextra -Werror -O2 -Iinclude \
    capi/tests/test_sensitivity.c "$LIB" "${LIBS[@]}" -o "$OUT/test_sensitivity"
"$OUT/test_sensitivity"

echo "== C++ example (g++ -std=c++17)"
"$CXX" -std=c++17 -Wall -Wextra -Werror -O2 -Iinclude \
    capi/examples/price_table.cpp "$LIB" "${LIBS[@]}" -o "$OUT/price_table"
"$OUT/price_table"

echo "== the README's C example"
# The first ```c block after "## From C / C++" in README.md, compiled as C and as C++.
awk '/^## From C \/ C\+\+/{sec=1} sec && /^```c$/{on=1; next} on && /^```$/{exit} on{print}' README.md > "$OUT/readme.c"
test -s "$OUT/readme.c"
"$CC" -std=c11 -Wall -Wextra -Werror -O2 -Iinclude "$OUT/readme.c" "$LIB" "${LIBS[@]}" -o "$OUT/readme_c"
"$OUT/readme_c"
"$CXX" -std=c++17 -Wall -Wextra -Werror -O2 -Iinclude -x c++ "$OUT/readme.c" -x none "$LIB" "${LIBS[@]}" -o "$OUT/readme_cpp"
"$OUT/readme_cpp"

echo "== C test and C++ example under AddressSanitizer + UBSan (leaks included)"
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
if echo 'int main(void){return 0;}' | "$CC" -x c "${SAN[@]}" - -o "$OUT/san_probe" 2>/dev/null; then
    "$CC" -std=c11 -Wall -Wextra -Werror "${SAN[@]}" -Iinclude \
        capi/tests/test_capi.c "$LIB" "${LIBS[@]}" -o "$OUT/test_capi_san"
    "$CXX" -std=c++17 -Wall -Wextra -Werror "${SAN[@]}" -Iinclude \
        capi/examples/price_table.cpp "$LIB" "${LIBS[@]}" -o "$OUT/price_table_san"
    "$CC" -std=c11 -Wall -Wextra -Werror "${SAN[@]}" -Iinclude \
        capi/tests/test_sensitivity.c "$LIB" "${LIBS[@]}" -o "$OUT/test_sensitivity_san"
    ASAN_OPTIONS=detect_leaks=1 "$OUT/test_capi_san" >/dev/null
    ASAN_OPTIONS=detect_leaks=1 "$OUT/test_sensitivity_san" >/dev/null
    ASAN_OPTIONS=detect_leaks=1 "$OUT/price_table_san" >/dev/null
    echo "sanitizers: clean"
else
    echo "sanitizers: not supported by $CC here; skipped"
fi

echo "== capi: all checks passed"
