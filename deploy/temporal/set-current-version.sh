#!/bin/sh
# One-shot (service worker-version): make the worker service's build the current version of
# the Worker Deployment, so new runs go to it. A version exists from its workers' first poll,
# so this waits for them. Pinned runs stay on the build they started on (docs/runbook.md, 7).
set -eu
version="--deployment-name ${TEMPORAL_DEPLOYMENT_NAME} --build-id ${TEMPORAL_WORKER_BUILD_ID}"
server="--address ${TEMPORAL_ADDRESS} --namespace ${TEMPORAL_NAMESPACE}"
# shellcheck disable=SC2086  # the words of $version and $server are separate arguments
until temporal worker deployment describe-version $version $server >/dev/null 2>&1; do sleep 2; done
# shellcheck disable=SC2086
temporal worker deployment set-current-version $version $server --yes
touch "${READY_FILE:-/tmp/version-current}"
echo "${TEMPORAL_DEPLOYMENT_NAME}.${TEMPORAL_WORKER_BUILD_ID} is the current version"
