package io.egressgateway.azure.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.credential.TokenRequestContext;
import com.azure.core.http.jdk.httpclient.JdkHttpClientBuilder;
import io.egressgateway.armsim.ArmSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CloudConfigTest {
  private static final String BASE = """
      "cloud":"AzurePublicCloud","tenantId":"t","subscriptionId":"s","location":"westeurope","resourceGroup":"rg",
      "vnetName":"vnet","subnetName":"sn\"""";

  @Test
  void upstreamFileWithClientSecretAndDefaults() {
    CloudConfig c = CloudConfig.parse("{" + BASE + ",\"aadClientId\":\"id\",\"aadClientSecret\":\"sec\",\"subscriptionID\":\"ignored\"}", null);
    assertEquals(CloudConfig.Auth.CLIENT_SECRET, c.auth());
    assertEquals("kubeegressgateway-ilb", c.loadBalancerName());
    assertEquals("rg", c.loadBalancerResourceGroup());
    assertEquals("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/sn", c.subnetId());
    assertTrue(!c.toString().contains("sec"), "the secret stays out of logs");
  }

  @Test
  void managedIdentityCertificateAndWorkloadIdentity() {
    assertEquals(CloudConfig.Auth.MANAGED_IDENTITY,
        CloudConfig.parse("{" + BASE + ",\"useManagedIdentityExtension\":true,\"userAssignedIdentityID\":\"mi\"}", null).auth());
    assertEquals(CloudConfig.Auth.CLIENT_CERTIFICATE,
        CloudConfig.parse("{" + BASE + ",\"aadClientId\":\"id\",\"aadClientCertPath\":\"/etc/cert.pem\"}", null).auth());
    CloudConfig wi = CloudConfig.parse("{" + BASE + ",\"aadClientId\":\"id\",\"useFederatedWorkloadIdentityExtension\":true}", "/var/run/token");
    assertEquals(CloudConfig.Auth.WORKLOAD_IDENTITY, wi.auth());
    assertEquals("/var/run/token", wi.federatedTokenFile());
  }

  @Test
  void clearErrors() {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> CloudConfig.parse("{\"tenantId\":\"t\",\"aadClientId\":\"id\",\"aadClientSecret\":\"x\"}", null));
    assertTrue(missing.getMessage().contains("location is required"));
    assertTrue(missing.getMessage().contains("vnetName is required"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CloudConfig.parse("{" + BASE + "}", null))
        .getMessage().contains("no credential"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CloudConfig.parse("{" + BASE + ",\"aadClientId\":\"id\",\"useFederatedWorkloadIdentityExtension\":true}", null))
        .getMessage().contains("federated token file"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CloudConfig.parse("{not json", null)).getMessage().contains("not valid JSON"));
  }

  @Test
  void clientSecretCredentialGetsATokenFromTheSimulator() {
    try (ArmSimulator sim = ArmSimulator.start()) {
      CloudConfig c = CloudConfig.parse("{" + BASE.replace("\"t\"", "\"" + ArmSimulator.TENANT + "\"")
          + ",\"aadClientId\":\"id\",\"aadClientSecret\":\"sec\"}", null);
      var http = new JdkHttpClientBuilder(java.net.http.HttpClient.newBuilder().sslContext(sim.sslContext())).build();
      var token = Credentials.from(c, AzureCloud.custom("sim", sim.baseUrl(), sim.baseUrl(), ""), http)
          .getTokenSync(new TokenRequestContext().addScopes(sim.baseUrl() + "/.default"));
      assertEquals(ArmSimulator.ACCESS_TOKEN, token.getToken());
      assertTrue(sim.count("POST", "/oauth2/v2.0/token") >= 1);
    }
  }

  @Test
  void readsTheFile() throws Exception {
    Path f = Files.createTempFile("azure", ".json");
    try {
      Files.writeString(f, "{" + BASE + ",\"useManagedIdentityExtension\":true}");
      assertEquals("rg", CloudConfig.read(f).resourceGroup());
    } finally {
      Files.deleteIfExists(f);
    }
  }
}
