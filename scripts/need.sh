# Sourced by the check scripts: `need COMMAND=PACKAGES …` installs, from Debian's packages, the
# packages of each command that is missing (`need chromium=chromium npm="nodejs npm"`).
export DEBIAN_FRONTEND=noninteractive PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_config_fund=false npm_config_audit=false

need() {
    local missing=() pair
    for pair in "$@"; do
        # shellcheck disable=SC2206 # a command's packages are a space-separated list
        command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=(${pair#*=})
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}
