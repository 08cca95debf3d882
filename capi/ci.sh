#!/usr/bin/env bash
# CI for the C ABI and the C++ header. Run from anywhere:  bash capi/ci.sh
#
# Builds libbsfit (release); checks that include/bsfit.h matches the sources,
# the SONAME and the size of a stripped static hello-world; compiles and runs
# the C tests (gcc, C11), the C++ header's test and example (g++, C++17) and
# the README's C and C++ examples against the static library, each with an
# empty stderr required; the same again under AddressSanitizer + UBSan;
# installs the library with CMake and builds an out-of-tree consumer with
# find_package(bsfit) (shared and static, and under the sanitizers) and with
# pkg-config. Needs Rust, gcc, g++, cmake and pkg-config; installs the pinned
# cbindgen itself if missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CC="${CC:-gcc}"
CXX="${CXX:-g++}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
TARGET_DIR="$(cd "$(dirname "$TARGET_DIR")" && pwd)/$(basename "$TARGET_DIR")"
LIB="$TARGET_DIR/release/libbsfit.a"
SO="$TARGET_DIR/release/libbsfit.so"
OUT="$TARGET_DIR/capi"
# What a Rust static library needs from the system.
LIBS=(-lpthread -ldl -lm)
WARN=(-Wall -Wextra -Werror)

echo "== cargo build --release -p bsfit-capi"
cargo build --release -p bsfit-capi

echo "== header freshness"
capi/gen_header.sh --check

echo "== SONAME"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' capi/Cargo.toml | head -1)"
IFS=. read -r major minor _ <<<"$version"
want_soname="libbsfit.so.$major.$minor"
[ "$major" = 0 ] || want_soname="libbsfit.so.$major"
soname="$(readelf -d "$SO" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
echo "$soname"
[ "$soname" = "$want_soname" ] || { echo "SONAME $soname, expected $want_soname" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"

# Runs a test program; its stderr must stay empty (the library never writes there).
run() {
    local err="$OUT/stderr.txt"
    RUST_BACKTRACE=full "$@" 2>"$err" || { cat "$err" >&2; echo "FAILED: $*" >&2; exit 1; }
    if [ -s "$err" ]; then
        cat "$err" >&2
        echo "FAILED: $* wrote to stderr" >&2
        exit 1
    fi
}

# The README's examples: the first ```c and ```cpp blocks after "## From C / C++".
readme_block() {
    awk -v lang="$1" '/^## From C \/ C\+\+/{sec=1} sec && $0 == "```" lang {on=1; next} on && /^```$/{exit} on{print}' README.md
}
readme_block c > "$OUT/readme.c"
readme_block cpp > "$OUT/readme.cpp"
test -s "$OUT/readme.c" && test -s "$OUT/readme.cpp"

build_all() { # suffix, extra flags...
    local sfx="$1"
    shift
    "$CC" -std=c11 "${WARN[@]}" "$@" -Iinclude capi/tests/test_capi.c "$LIB" "${LIBS[@]}" -o "$OUT/test_capi$sfx"
    "$CC" -std=c11 "${WARN[@]}" "$@" -Iinclude capi/tests/test_contract.c "$LIB" "${LIBS[@]}" -o "$OUT/test_contract$sfx"
    "$CC" -std=c11 "${WARN[@]}" "$@" -Iinclude capi/tests/test_query.c "$LIB" "${LIBS[@]}" -o "$OUT/test_query$sfx"
    "$CC" -std=c11 "${WARN[@]}" "$@" -Iinclude capi/tests/test_sensitivity.c "$LIB" "${LIBS[@]}" -o "$OUT/test_sensitivity$sfx"
    "$CC" -std=c11 "${WARN[@]}" "$@" -Iinclude capi/tests/test_gpu.c "$LIB" "${LIBS[@]}" -o "$OUT/test_gpu$sfx"
    "$CC" -std=c11 "${WARN[@]}" "$@" -Iinclude capi/tests/test_degrees.c "$LIB" "${LIBS[@]}" -o "$OUT/test_degrees$sfx"
    "$CXX" -std=c++17 "${WARN[@]}" "$@" -Iinclude capi/tests/test_cpp.cpp "$LIB" "${LIBS[@]}" -o "$OUT/test_cpp$sfx"
    "$CXX" -std=c++17 "${WARN[@]}" "$@" -Iinclude capi/examples/price_table.cpp "$LIB" "${LIBS[@]}" -o "$OUT/price_table$sfx"
    "$CC" -std=c11 "${WARN[@]}" "$@" -Iinclude "$OUT/readme.c" "$LIB" "${LIBS[@]}" -o "$OUT/readme_c$sfx"
    "$CXX" -std=c++17 "${WARN[@]}" "$@" -Iinclude -x c++ "$OUT/readme.c" -x none "$LIB" "${LIBS[@]}" -o "$OUT/readme_c_as_cpp$sfx"
    "$CXX" -std=c++17 "${WARN[@]}" "$@" -Iinclude "$OUT/readme.cpp" "$LIB" "${LIBS[@]}" -o "$OUT/readme_cpp$sfx"
}
run_all() { # suffix
    for t in test_capi test_contract test_query test_sensitivity test_gpu test_degrees test_cpp price_table readme_c readme_c_as_cpp readme_cpp; do
        echo "-- $t$1"
        run "$OUT/$t$1" | tail -3
    done
}

echo "== C tests, C++ header test, C++ example, README examples (gcc/g++ -O2)"
build_all "" -O2
run_all ""

echo "== stripped static hello-world"
# The README's C example linked against libbsfit.a, then stripped.
cp "$OUT/readme_c" "$OUT/hello"
strip "$OUT/hello"
size_bytes=$(stat -c %s "$OUT/hello")
echo "$((size_bytes / 1024)) KiB"
[ "$size_bytes" -lt $((12 * 1024 * 1024)) ] || { echo "static hello-world is over 12 MB" >&2; exit 1; }

echo "== the same under AddressSanitizer + UBSan (leaks included)"
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
if echo 'int main(void){return 0;}' | "$CC" -x c "${SAN[@]}" - -o "$OUT/san_probe" 2>/dev/null; then
    build_all "_san" "${SAN[@]}"
    export ASAN_OPTIONS=detect_leaks=1
    run_all "_san"
    unset ASAN_OPTIONS
    SAN_OK=1
else
    echo "sanitizers: not supported by $CC here; skipped"
    SAN_OK=0
fi

echo "== CMake install and an out-of-tree consumer (find_package(bsfit))"
cmake -S capi -B "$OUT/cmake-build" -DCMAKE_BUILD_TYPE=Release \
      -DBSFIT_CARGO_TARGET_DIR="$TARGET_DIR" >/dev/null
cmake --build "$OUT/cmake-build" >/dev/null
cmake --install "$OUT/cmake-build" --prefix "$OUT/prefix" >/dev/null
ls -l "$OUT/prefix/lib"
a_size=$(stat -c %s "$OUT/prefix/lib/libbsfit.a")
echo "installed libbsfit.a: $((a_size / 1024 / 1024)) MiB"
consumer() { # build dir, extra CMake arguments...
    local dir="$1"
    shift
    cmake -S capi/tests/cmake_consumer -B "$dir" -DCMAKE_PREFIX_PATH="$OUT/prefix" "$@" >/dev/null
    cmake --build "$dir" >/dev/null
    run "$dir/consumer_shared"
    run "$dir/consumer_static"
    readelf -d "$dir/consumer_shared" | grep -q "NEEDED.*\[$want_soname\]" \
        || { echo "consumer_shared does not need $want_soname" >&2; exit 1; }
}
consumer "$OUT/consumer" -DCMAKE_BUILD_TYPE=Release
if [ "$SAN_OK" = 1 ]; then
    export ASAN_OPTIONS=detect_leaks=1
    consumer "$OUT/consumer-san" -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_CXX_FLAGS="${SAN[*]}" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
    unset ASAN_OPTIONS
fi

echo "== pkg-config"
export PKG_CONFIG_PATH="$OUT/prefix/lib/pkgconfig"
pkg-config --modversion bsfit
[ "$(pkg-config --modversion bsfit)" = "$version" ]
# shellcheck disable=SC2046
"$CC" -std=c11 "${WARN[@]}" -O2 "$OUT/readme.c" $(pkg-config --cflags --libs bsfit) \
    -Wl,-rpath,"$OUT/prefix/lib" -o "$OUT/readme_pkgconfig"
run "$OUT/readme_pkgconfig"

echo "== GPU: libbsfit with the gpu feature, test_gpu against the CPU (lavapipe in CI)"
# The build above has no GPU support (test_gpu checked BSFIT_STATUS_UNSUPPORTED);
# this one has it. With lavapipe installed the test must find an adapter.
cargo build --release -p bsfit-capi --features gpu
"$CC" -std=c11 "${WARN[@]}" -O2 -Iinclude capi/tests/test_gpu.c "$LIB" "${LIBS[@]}" -o "$OUT/test_gpu_device"
xdg="$(mktemp -d)"
chmod 700 "$xdg"
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
    XDG_RUNTIME_DIR="$xdg" WGPU_BACKEND="${WGPU_BACKEND:-vulkan}" BSFIT_REQUIRE_GPU=1 run "$OUT/test_gpu_device"
else
    XDG_RUNTIME_DIR="$xdg" run "$OUT/test_gpu_device"
fi
rm -rf "$xdg"

echo "== capi: all checks passed"
