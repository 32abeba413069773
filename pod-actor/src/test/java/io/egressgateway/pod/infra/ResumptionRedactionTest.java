package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.egressgateway.datapath.wireguard.WgKeys;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A tunnel's key read back after a restart never reaches a log line through {@code toString}. */
class ResumptionRedactionTest {

  @Test
  void theResumedPrivateKeyIsRedacted() {
    String key = WgKeys.generate().privateKey();
    PodDatapath.Resumption r = new PodDatapath.Resumption(Optional.of(key), false);
    assertFalse(r.toString().contains(key), r.toString());
    assertFalse(r.toString().contains(key.substring(0, 12)), r.toString());
    assertEquals("Resumption[privateKey=(redacted), sandboxGone=false]", r.toString());
    assertEquals("Resumption[privateKey=none, sandboxGone=true]", PodDatapath.Resumption.GONE.toString());
  }
}
