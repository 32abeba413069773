package io.egressgateway.azure.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.credential.TokenRequestContext;
import com.azure.core.http.jdk.httpclient.JdkHttpClientBuilder;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.core.metrics.Metrics;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The cloud a cloud config names: public, sovereign, or a custom cloud from cloud-provider-azure's environment file. */
class AzureCloudTest {
  private static final String BASE = """
      "tenantId":"%s","subscriptionId":"%s","location":"l","resourceGroup":"rg","vnetName":"v","subnetName":"s",
      "aadClientId":"id","aadClientSecret":"sec\"""".formatted(ArmSimulator.TENANT, ArmSimulator.SUBSCRIPTION);

  private static CloudConfig config(String cloud) {
    return CloudConfig.parse("{\"cloud\":\"" + cloud + "\"," + BASE + "}", null);
  }

  @Test
  void builtInClouds() {
    AzureCloud pub = AzureCloud.of(config("AzurePublicCloud"), null);
    assertEquals("https://management.azure.com/", pub.resourceManagerEndpoint());
    assertEquals("https://login.microsoftonline.com/", pub.authorityHost());
    assertFalse(pub.custom());
    AzureCloud china = AzureCloud.of(config("AzureChinaCloud"), null);
    assertEquals("https://management.chinacloudapi.cn/", china.resourceManagerEndpoint());
    assertEquals("https://login.chinacloudapi.cn/", china.authorityHost());
    assertEquals("https://management.usgovcloudapi.net/", AzureCloud.of(config("AzureUSGovernmentCloud"), null).resourceManagerEndpoint());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> AzureCloud.of(config("Elsewhere"), null))
        .getMessage().contains("unknown cloud 'Elsewhere'"));
  }

  @Test
  void azureStackCloudNeedsItsEnvironmentFile() throws Exception {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> AzureCloud.of(config("AzureStackCloud"), null))
        .getMessage().contains("AZURE_ENVIRONMENT_FILEPATH"));
    Path f = Files.createTempFile("azure-environment", ".json");
    try {
      Files.writeString(f, """
          {"name":"AzureStackCloud","resourceManagerEndpoint":"https://management.local.azurestack.external",
           "activeDirectoryEndpoint":"https://adfs.local.azurestack.external/adfs/",
           "tokenAudience":"https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155"}""");
      AzureCloud stack = AzureCloud.of(config("AzureStackCloud"), f);
      assertEquals("https://management.local.azurestack.external/", stack.resourceManagerEndpoint());
      assertEquals("https://adfs.local.azurestack.external/adfs/", stack.authorityHost());
      assertEquals("https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155/",
          stack.environment().getManagementEndpoint());
      assertTrue(stack.custom());
      Files.writeString(f, "{\"resourceManagerEndpoint\":\"http://plain\",\"activeDirectoryEndpoint\":\"https://login\"}");
      assertTrue(assertThrows(IllegalArgumentException.class, () -> AzureCloud.fromFile(f)).getMessage().contains("https URL"));
      Files.writeString(f, "{\"resourceManagerEndpoint\":\"https://arm\"}");
      assertTrue(assertThrows(IllegalArgumentException.class, () -> AzureCloud.fromFile(f)).getMessage().contains("activeDirectoryEndpoint"));
    } finally {
      Files.deleteIfExists(f);
    }
  }

  /** A custom cloud whose endpoints have a private CA's certificate: trusted through the CA bundle, JVM CAs kept. */
  @Test
  void customCloudWithItsCaBundleSignsInAndCallsResourceManager() throws Exception {
    Path dir = Files.createTempDirectory("custom-cloud");
    try (ArmSimulator sim = ArmSimulator.start()) {
      sim.seedNetwork("rg", "v", "s", "10.0.1.0/24");
      Path env = dir.resolve("environment.json");
      Files.writeString(env, "{\"name\":\"AzureStackCloud\",\"resourceManagerEndpoint\":\"" + sim.baseUrl()
          + "\",\"activeDirectoryEndpoint\":\"" + sim.baseUrl() + "/\"}");
      Path bundle = dir.resolve("ca.crt");
      Files.writeString(bundle, "-----BEGIN CERTIFICATE-----\n"
          + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(sim.tls().certificate().getEncoded())
          + "\n-----END CERTIFICATE-----\n");
      CloudConfig cloud = config("AzureStackCloud");
      AzureCloud azure = AzureCloud.of(cloud, env);
      var ssl = CaBundle.sslContext(bundle);
      var http = new JdkHttpClientBuilder(java.net.http.HttpClient.newBuilder().sslContext(ssl)).build();
      var credential = Credentials.from(cloud, azure, http);
      assertEquals(ArmSimulator.ACCESS_TOKEN, credential.getTokenSync(new TokenRequestContext()
          .addScopes(azure.environment().getManagementEndpoint() + ".default")).getToken());
      ArmClients arm = ArmClients.create(cloud, credential, azure, ssl, Metrics.standalone());
      assertEquals("v", arm.network().networks().getByResourceGroup("rg", "v").name());
      assertTrue(sim.count("GET", "/virtualNetworks/v") >= 1);
      assertTrue(sim.count("POST", "/oauth2/v2.0/token") >= 1);
      assertTrue(ssl.getDefaultSSLParameters() != null);
      assertThrows(IllegalArgumentException.class, () -> CaBundle.sslContext(env), "a file without certificates");
    } finally {
      try (var s = Files.walk(dir)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
