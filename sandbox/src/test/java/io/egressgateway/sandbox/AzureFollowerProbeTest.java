package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The ILB stand-in probes as the load balancer's probe says (Azure's timing), not faster. */
class AzureFollowerProbeTest {
  private static final String POOL = "/lb/backendaddresspools/pool";

  private static JsonNode lb(String probeProperties) throws Exception {
    return new ObjectMapper().readTree("""
        {"properties": {
          "frontendIPConfigurations": [{"id": "/lb/fe", "properties": {"privateIPAddress": "10.224.1.100"}}],
          "probes": [{"id": "/lb/probes/p", "properties": %s}],
          "loadBalancingRules": [{"properties": {"frontendPort": 6000, "probe": {"id": "/lb/probes/p"},
            "frontendIPConfiguration": {"id": "/lb/fe"}, "backendAddressPool": {"id": "/lb/backendAddressPools/pool"}}}]}}
        """.formatted(probeProperties));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "what the pool entity writes | {\"port\": 8082, \"requestPath\": \"/gw/u\", \"intervalInSeconds\": 5, \"probeThreshold\": 1} | 5000  | 1",
      "numberOfProbes (older API)  | {\"port\": 8082, \"intervalInSeconds\": 10, \"numberOfProbes\": 2}                        | 10000 | 2",
      "Azure's defaults            | {\"port\": 8082}                                                                             | 15000 | 1",
  })
  void aRuleCarriesItsProbesIntervalAndThreshold(String why, String probe, long intervalMs, int threshold) throws Exception {
    List<AzureFollower.Rule> rules = AzureFollower.rulesOf(lb(probe), Map.of(POOL, List.of("10.224.1.4", "10.224.1.5")));
    assertEquals(1, rules.size(), why);
    assertEquals(intervalMs, rules.get(0).intervalMs(), why);
    assertEquals(threshold, rules.get(0).threshold(), why);
    assertEquals(List.of("10.224.1.4", "10.224.1.5"), rules.get(0).backends());
    assertEquals("10.224.1.100", rules.get(0).frontendIp());
  }

  @Test
  void aBackendChangesStateAfterThresholdOppositeResultsInARow() {
    AzureFollower f = new AzureFollower(null, null);
    assertEquals(true, f.judge("6000/a", true, 2), "a new backend takes its first result");
    assertEquals(true, f.judge("6000/a", false, 2), "one failure of two");
    assertEquals(true, f.judge("6000/a", true, 2), "a success resets the count");
    assertEquals(true, f.judge("6000/a", false, 2));
    assertEquals(false, f.judge("6000/a", false, 2), "two failures in a row: down");
    assertEquals(true, f.judge("6000/b", true, 1));
    assertEquals(false, f.judge("6000/b", false, 1), "threshold 1 (the pool entity's): down after one failure");
  }

  @Test
  void aProbeWaitsForAnAnswerAsLongAsItsIntervalAtMostThirtySeconds() {
    assertEquals(5_000, AzureFollower.probeTimeoutMs(5_000), "the pool entity's 5 s probe waits 5 s, as Azure's does");
    assertEquals(30_000, AzureFollower.probeTimeoutMs(60_000));
    assertEquals(500, AzureFollower.probeTimeoutMs(500), "a faster interval (an option) waits no longer than it");
  }
}
