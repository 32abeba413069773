package io.egressgateway.gateway.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostNatTest {
  @Test
  void savedRulesSplitIntoArgumentsWithQuotedComments() {
    assertEquals(List.of("-s", "10.224.0.15/32", "-m", "comment", "--comment", "egress-gateway:abc", "-j", "ACCEPT"),
        HostNat.tokens("-s 10.224.0.15/32 -m comment --comment \"egress-gateway:abc\" -j ACCEPT"));
    assertEquals(List.of("--comment", "two words", "-j", "ACCEPT"), HostNat.tokens("--comment \"two words\" -j ACCEPT"));
  }
}
