#!/bin/sh
# One-shot (service worker-version): make the worker service's build the current version of
# the Worker Deployment, so new runs go to it. The server registers a version's task queues
# at its workers' first polls (workflow and activity) and refuses a current version missing
# one, so this waits for both. Pinned runs stay on their build (docs/runbook.md, section 7).
set -eu
version="--deployment-name ${TEMPORAL_DEPLOYMENT_NAME} --build-id ${TEMPORAL_WORKER_BUILD_ID}"
server="--address ${TEMPORAL_ADDRESS} --namespace ${TEMPORAL_NAMESPACE}"
polled() {
  # shellcheck disable=SC2086  # the words of $version and $server are separate arguments
  queues="$(temporal worker deployment describe-version $version $server --output json 2>/dev/null)" \
    || return 1
  echo "${queues}" | grep -q '"type": "workflow"' && echo "${queues}" | grep -q '"type": "activity"'
}
until polled; do sleep 2; done
# shellcheck disable=SC2086
temporal worker deployment set-current-version $version $server --yes
touch "${READY_FILE:-/tmp/version-current}"
echo "${TEMPORAL_DEPLOYMENT_NAME}.${TEMPORAL_WORKER_BUILD_ID} is the current version"
