package io.egressgateway.app.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.kube.infra.AzureProvisioner;
import io.egressgateway.kube.infra.SgcApi;
import io.egressgateway.kube.model.SgcSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolProvisionerTest {
  @Test
  void nodePoolModeLeavesTheLengthToThePoolAndLegacyUidsBecomeAzureNames() {
    SgcSpec nodepool = new SgcSpec("gwpool", null, null, true, "", List.of());
    ConfigSpec s = PoolProvisioner.configSpec(new AzureProvisioner.Request("ns/a", "sgc-uid", nodepool, List.of(),
        new SgcApi.LegacyUids("lb-uid", "vm-uid")));
    assertEquals(new ConfigSpec("ns/a", "sgc-uid", true, 0, "", "lb-uid", "egressgateway-vm-uid"), s);
    assertEquals("lb-uid", s.ruleName());

    SgcSpec profile = new SgcSpec("", new SgcSpec.Vmss("rg", "vmss", 29), null, true, "", List.of());
    ConfigSpec p = PoolProvisioner.configSpec(new AzureProvisioner.Request("ns/b", "u", profile, List.of()));
    assertEquals(29, p.prefixLength(), "a VMSS profile names its length");
    assertEquals("egressgateway-u", p.ipConfigName());
    assertEquals(PoolProvisioner.poolOf(profile).entityId(), "vmss:rg/vmss");
  }
}
