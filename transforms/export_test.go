package transforms

// StartHeartbeat exposes the heartbeat with a chosen period to the tests.
var StartHeartbeat = startHeartbeat
