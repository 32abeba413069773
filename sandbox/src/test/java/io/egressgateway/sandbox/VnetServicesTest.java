package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A node of the VNet reaches the in-process API as a pod does: HTTPS to the API's VNet address, its CA, a token. */
@Tag("privileged")
class VnetServicesTest {

  @Test
  void aNodeReachesTheApiOverTlsWithTheServiceAccountCa() throws Exception {
    Privileged.require("ip", "nft", "socat", "curl", "openssl");
    NetLab lab = new NetLab("v" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36));
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      AzureVnet vnet = new AzureVnet(lab);
      String node = vnet.addVm("w1", "10.224.0.4");
      VnetServices services = new VnetServices(lab, vnet, new Relays(lab), lab.workDir().resolve("apiserver"));
      services.exposeApi(Integer.parseInt(api.url().substring(api.url().lastIndexOf(':') + 1)));
      api.client().configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("hello")
          .endMetadata().addToData("k", "v").build()).create();

      Path ca = lab.workDir().resolve("ca.crt");
      Files.writeString(ca, services.caPem());
      var env = VnetServices.serviceEnv();
      String url = "https://" + env.get("KUBERNETES_SERVICE_HOST") + ":" + env.get("KUBERNETES_SERVICE_PORT")
          + "/api/v1/namespaces/default/configmaps/hello";
      CommandRunner.Result r = Sh.quiet(node, "curl", "-sS", "--cacert", ca.toString(), "-H",
          "Authorization: Bearer " + VnetServices.token("default", "default"), url);
      assertTrue(r.ok(), r.stderr());
      assertTrue(r.stdout().contains("\"k\":\"v\""), r.stdout());
      // the certificate names the in-cluster service too
      String names = Sh.must("sh", "-c", "openssl x509 -noout -ext subjectAltName < " + ca.getParent().resolve("apiserver/apiserver.crt"));
      assertTrue(names.contains("IP Address:10.224.0.20") && names.contains("DNS:kubernetes.default.svc"), names);
      assertEquals(0, Sh.quiet(node, "curl", "-sS", "-o", "/dev/null", "--cacert", ca.toString(), url.replace("/configmaps/hello", "")).exitCode());
    } finally {
      lab.close();
    }
    assertTrue(lab.existingNamespaces().isEmpty());
  }
}
