package io.egressgateway.core;

/**
 * Marker for every message, event and state record that crosses the wire or enters the journal.
 * Bound to Akka's jackson-cbor serializer in cluster-core's reference.conf, so no class needs its own
 * serializer and the persistence testkits can verify serialization.
 */
public interface CborSerializable {}
