package io.egressgateway.azure.infra;

import com.azure.core.credential.TokenCredential;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpPipelineCallContext;
import com.azure.core.http.HttpPipelineNextPolicy;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.jdk.httpclient.JdkHttpClientBuilder;
import com.azure.core.http.policy.HttpPipelinePolicy;
import com.azure.core.management.profile.AzureProfile;
import com.azure.resourcemanager.compute.ComputeManager;
import com.azure.resourcemanager.network.NetworkManager;
import io.egressgateway.core.metrics.Metrics;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import reactor.core.publisher.Mono;

/**
 * Builds the SDK managers on the JDK HTTP client, with a policy that counts every ARM request (metric
 * {@code egress_azure_arm_calls_total{method}}; the SDK's own retries count as calls).
 */
public final class ArmClients {
  private final NetworkManager network;
  private final ComputeManager compute;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();

  private ArmClients(NetworkManager network, ComputeManager compute) {
    this.network = network;
    this.compute = compute;
  }

  /**
   * @param azure the cloud whose Resource Manager endpoint and token audience the SDK uses
   * @param sslContext null for the JVM default trust
   */
  public static ArmClients create(CloudConfig cloud, TokenCredential credential, AzureCloud azure, SSLContext sslContext, Metrics metrics) {
    java.net.http.HttpClient.Builder jdk = java.net.http.HttpClient.newBuilder();
    if (sslContext != null) {
      jdk.sslContext(sslContext);
    }
    HttpClient http = new JdkHttpClientBuilder(jdk).build();
    AzureProfile profile = new AzureProfile(cloud.tenantId().isEmpty() ? null : cloud.tenantId(), cloud.subscriptionId(),
        azure.environment());
    var counter = metrics.counter("egress_azure_arm_calls_total", "ARM requests made, by HTTP method (retries included)", "method");
    ArmClients[] self = new ArmClients[1];
    HttpPipelinePolicy counting = new HttpPipelinePolicy() {
      @Override
      public Mono<HttpResponse> process(HttpPipelineCallContext ctx, HttpPipelineNextPolicy next) {
        String method = ctx.getHttpRequest().getHttpMethod().name();
        counter.inc(method);
        (method.equals("GET") ? self[0].reads : self[0].writes).incrementAndGet();
        return next.process();
      }
    };
    NetworkManager nm = NetworkManager.configure().withHttpClient(http).withPolicy(counting).authenticate(credential, profile);
    ComputeManager cm = ComputeManager.configure().withHttpClient(http).withPolicy(counting).authenticate(credential, profile);
    self[0] = new ArmClients(nm, cm);
    return self[0];
  }

  public NetworkManager network() {
    return network;
  }

  public ComputeManager compute() {
    return compute;
  }

  public long reads() {
    return reads.get();
  }

  public long writes() {
    return writes.get();
  }
}
