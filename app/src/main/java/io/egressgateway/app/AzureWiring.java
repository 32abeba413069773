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
import io.egressgateway.azure.infra.AzureCloud;
import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.infra.CaBundle;
import io.egressgateway.azure.infra.CloudConfig;
import io.egressgateway.azure.infra.Credentials;
import io.egressgateway.azure.infra.SdkArmPort;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.kube.infra.AzureProvisioner;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's Azure side: reads the upstream-compatible cloud config ({@code EGRESS_AZURE_CONFIG}),
 * the cloud it names ({@link AzureCloud}: public, sovereign, or a custom cloud such as Azure Stack Hub from
 * the environment file {@code AZURE_ENVIRONMENT_FILEPATH}), trusts the CAs of {@code EGRESS_AZURE_CA_BUNDLE}
 * on top of the JVM's, builds the credential and the SDK clients, and starts the {@code GatewayPool}
 * entities.
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
    String environmentFile = config.getString("egress.app.azure.environment-file");
    AzureCloud azure = AzureCloud.of(cloud, environmentFile.isBlank() ? null : Path.of(environmentFile));
    String bundle = config.getString("egress.app.azure.ca-bundle-file");
    SSLContext ssl = bundle.isBlank() ? null : CaBundle.sslContext(Path.of(bundle));
    java.net.http.HttpClient.Builder jdk = java.net.http.HttpClient.newBuilder();
    if (ssl != null) {
      jdk.sslContext(ssl);
    }
    HttpClient http = new JdkHttpClientBuilder(jdk).build();
    TokenCredential credential = Credentials.from(cloud, azure, http);
    ArmClients arm = ArmClients.create(cloud, credential, azure, ssl, Metrics.get(system));
    AzureSettings settings = AzureSettings.from(config);
    GatewayPool.init(system, new SdkArmPort(arm.network(), arm.compute(), cloud, settings.probePort()), settings,
        cloud.prefixIdBase());
    log.info("Azure side started: {} in {}{}", cloud, azure, bundle.isBlank() ? "" : ", also trusting the CAs of " + bundle);
    PoolProvisioner provisioner = new PoolProvisioner(system, KubeBridgeSettings.fromConfig(config).azureTimeout());
    PoolsFollowGateways.start(system, provisioner::knownPools, pool -> akka.cluster.sharding.typed.javadsl.ClusterSharding
        .get(system).entityRefFor(GatewayPool.ENTITY_KEY, pool).tell(new GatewayPool.Resync()));
    return provisioner;
  }
}
