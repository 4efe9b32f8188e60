# Sourced by scripts/test, scripts/demo and .ci/run: the Debian packages
# the build needs, and installing what is missing of a list.
#
# The build needs, besides the Rust toolchain: pkg-config and libssl-dev.
# The simulator's TLS (the `openssl` crate, issue 13) links the system
# libssl and finds it with pkg-config; the agent's default features build
# the simulator, so every `cargo build` of the workspace needs them.

# Prints the build's packages that are missing, one per line.
missing_build_packages() {
  if ! command -v pkg-config >/dev/null 2>&1; then
    echo pkg-config
    echo libssl-dev
  elif ! pkg-config --exists openssl; then
    echo libssl-dev
  fi
}

# apt-get install --no-install-recommends PACKAGES (nothing if none),
# through sudo unless run as root.
install_packages() {
  if [ "$#" -eq 0 ]; then
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  echo "== setup: installing $* (${sudo[*]:+${sudo[*]} }apt-get install -y --no-install-recommends $*)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@"
}

# Installs the build's missing packages; fails if they are still missing.
ensure_build_packages() {
  local missing
  mapfile -t missing < <(missing_build_packages)
  install_packages "${missing[@]}"
  mapfile -t missing < <(missing_build_packages)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "still missing after the install: ${missing[*]}" >&2
    return 1
  fi
}
