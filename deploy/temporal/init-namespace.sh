#!/bin/sh
# One-shot (service temporal-init): once the server answers, create the namespace and the
# search attributes the workflows keep current (common/search_attributes.py).
set -eu
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}"; do sleep 2; done
temporal operator namespace describe --namespace "${TEMPORAL_NAMESPACE}" --address "${TEMPORAL_ADDRESS}" \
  || temporal operator namespace create --namespace "${TEMPORAL_NAMESPACE}" --retention 7d \
       --address "${TEMPORAL_ADDRESS}"
for sa in ${RETAIL_SEARCH_ATTRIBUTES}; do
  temporal operator search-attribute create --namespace "${TEMPORAL_NAMESPACE}" \
    --address "${TEMPORAL_ADDRESS}" --name "${sa%%=*}" --type "${sa##*=}" || true
done
touch /tmp/namespace-ready
echo "namespace ${TEMPORAL_NAMESPACE} ready"
