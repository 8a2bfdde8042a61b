# Every third-party dependency, found once. deploy/setup.sh installs them all
# from Debian's packages.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf>=1.1)
pkg_check_modules(LIBELF REQUIRED IMPORTED_TARGET libelf)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(LIBYAML REQUIRED IMPORTED_TARGET yaml-0.1)  # libyaml-dev: the manifest parser

find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(CURL REQUIRED)  # libcurl4-openssl-dev: the Kubernetes API client
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)  # the demo and tests only: they read our own deploy/ files
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(civetweb REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

find_program(CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
