package io.egressgateway.app;

import akka.actor.typed.ActorSystem;
import com.azure.core.credential.TokenCredential;
import com.azure.core.http.HttpClient;
import com.azure.core.http.jdk.httpclient.JdkHttpClientBuilder;
import com.typesafe.config.Config;
import io.egressgateway.app.wiring.PoolProvisioner;
import io.egressgateway.app.wiring.PoolsFollowGateways;
import io.egressgateway.azure.entity.GatewayPool;
import io.egressgateway.azure.infra.ArmClients;
import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.infra.CloudConfig;
import io.egressgateway.azure.infra.Credentials;
import io.egressgateway.azure.infra.SdkArmPort;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.kube.infra.AzureProvisioner;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's Azure side: reads the upstream-compatible cloud config ({@code EGRESS_AZURE_CONFIG}),
 * builds the credential it selects and the SDK clients, and starts the {@code GatewayPool} entities.
 * {@code egress.app.azure.arm-endpoint} and {@code trust-cert-file} point the SDK at another ARM endpoint
 * (the sandbox's simulator); in Azure both stay empty.
 */
final class AzureWiring {
  private static final Logger log = LoggerFactory.getLogger(AzureWiring.class);

  private AzureWiring() {}

  static AzureProvisioner provisioner(ActorSystem<?> system) {
    Config config = system.settings().config();
    String file = config.getString("egress.app.azure.cloud-config-file");
    if (file.isBlank()) {
      throw new IllegalArgumentException("controller members need the Azure cloud config: set EGRESS_AZURE_CONFIG "
          + "to the path of azure.json (the chart mounts it from a Secret)");
    }
    CloudConfig cloud = CloudConfig.read(Path.of(file));
    String endpoint = config.getString("egress.app.azure.arm-endpoint");
    SSLContext ssl = trusting(config.getString("egress.app.azure.trust-cert-file"));
    java.net.http.HttpClient.Builder jdk = java.net.http.HttpClient.newBuilder();
    if (ssl != null) {
      jdk.sslContext(ssl);
    }
    HttpClient http = new JdkHttpClientBuilder(jdk).build();
    TokenCredential credential = Credentials.from(cloud, endpoint.isBlank() ? null : endpoint + "/", http);
    ArmClients arm = ArmClients.create(cloud, credential, endpoint.isBlank() ? null : endpoint, ssl, Metrics.get(system));
    AzureSettings settings = AzureSettings.from(config);
    GatewayPool.init(system, new SdkArmPort(arm.network(), arm.compute(), cloud, settings.probePort()), settings,
        cloud.prefixIdBase());
    log.info("Azure side started: {} (ARM endpoint {})", cloud, endpoint.isBlank() ? "public cloud" : endpoint);
    PoolProvisioner provisioner = new PoolProvisioner(system, KubeBridgeSettings.fromConfig(config).azureTimeout());
    PoolsFollowGateways.start(system, provisioner::knownPools, pool -> akka.cluster.sharding.typed.javadsl.ClusterSharding
        .get(system).entityRefFor(GatewayPool.ENTITY_KEY, pool).tell(new GatewayPool.Resync()));
    return provisioner;
  }

  private static SSLContext trusting(String pemFile) {
    if (pemFile.isBlank()) {
      return null;
    }
    try (InputStream in = Files.newInputStream(Path.of(pemFile))) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      ks.setCertificateEntry("arm", CertificateFactory.getInstance("X.509").generateCertificate(in));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot trust the certificate in " + pemFile + ": " + e.getMessage(), e);
    }
  }
}
