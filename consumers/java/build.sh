#!/usr/bin/env bash
# Build the runnable consumer: target/txf-consumer.jar (+ target/lib/).
#   1. install the contract artifact io.github.txfstream:txf-contracts from this repo's gen/java into the
#      local Maven repository (what any consumer team does until it is published to a shared repository);
#   2. mvn package this project (runs the unit tests unless -DskipTests is passed through).
# Usage: consumers/java/build.sh [extra mvn args, e.g. -DskipTests]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mvn -q -B -Dstyle.color=never -f "$repo/gen/java/pom.xml" install -DskipTests
mvn -q -B -Dstyle.color=never -f "$here/pom.xml" package "$@"
