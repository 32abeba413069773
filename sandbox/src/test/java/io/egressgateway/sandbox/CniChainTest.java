package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.cnichain.CniChain;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The containernetworking ptp + host-local plugins, run as a runtime would (test-support's chain runner), give a pod a working network. */
@Tag("privileged")
class CniChainTest {

  @Test
  void podGetsAnAddressReachesTheInternetAndDelCleansUp() {
    Privileged.require("ip", "nft", "socat", "curl", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local");
    NetLab lab = new NetLab("c" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36));
    try {
      AzureVnet vnet = new AzureVnet(lab);
      String node = vnet.addVm("w1", "10.224.0.4");
      vnet.routePodCidr("10.244.1.0/24", "10.224.0.4");
      String pod = lab.addNamespace("pod1");
      String conflist = """
          {"cniVersion":"1.0.0","name":"%s","plugins":[
            {"type":"ptp","ipMasq":false,"mtu":1500,
             "ipam":{"type":"host-local","subnet":"10.244.1.0/24","dataDir":"%s","routes":[{"dst":"0.0.0.0/0"}]}}
          ]}""".formatted(lab.nsName("w1"), lab.workDir().resolve("ipam"));
      CniChain chain = CniChain.inDirs(conflist, "/usr/lib/cni", (env, binary, stdin) -> {
        io.egressgateway.datapath.command.CommandRunner.Result r = Sh.run(CniChain.inNamespace(node, env, binary), stdin, 60);
        return new CniChain.Run(r.exitCode(), r.stdout(), r.stderr());
      });

      CniChain.Outcome add = chain.add("ctr-1", "/var/run/netns/" + pod, "eth0", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1");
      assertTrue(add.ok(), add.plugin() + ": " + add.error());
      assertTrue(add.result().contains("10.244.1."), add.result());

      String seen = Sh.mustIn(pod, "curl", "-s", "-m", "5", "http://" + AzureVnet.ECHO_IP + ":" + AzureVnet.ECHO_PORT + "/").trim();
      assertEquals(AzureVnet.DEFAULT_OUTBOUND_IP, seen, "a plain pod leaves as the VNet's default outbound address");

      CniChain.Outcome del = chain.del("ctr-1", "/var/run/netns/" + pod, "eth0", "");
      assertTrue(del.ok(), del.error());
      assertFalse(Sh.mustIn(pod, "ip", "-o", "addr").contains("10.244.1."), "DEL removed the pod address");
    } finally {
      lab.close();
    }
    assertTrue(lab.existingNamespaces().isEmpty());
  }
}
