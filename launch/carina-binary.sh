# Sourced by the launch scripts: puts Swift on PATH if it sits at /opt/swift, installs missing system
# packages (launch/setup.sh) and sets CARINA_BINARY to a release build unless it is set already.
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
bash launch/setup.sh
if [[ -z ${CARINA_BINARY:-} ]]; then
    swift build -c release
    export CARINA_BINARY=.build/release/carina
fi
