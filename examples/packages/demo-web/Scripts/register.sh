#!/bin/sh
# A custom action of the demo web package (interfaces.Vnflcm): a real VNF
# would register with a load balancer or an inventory here. It prints what
# it was run for, which the manager keeps in the event log.
echo "demo-web: $1 $2 (stage $VNFM_STAGE, operation $VNFM_OPERATION)"
