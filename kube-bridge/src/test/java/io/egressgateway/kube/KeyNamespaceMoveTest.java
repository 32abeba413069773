package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.infra.Fabric8SgcApi;
import io.egressgateway.kube.infra.SgcMapping;
import io.egressgateway.kube.model.Allocation;
import io.egressgateway.kube.model.SgcStatus;
import io.egressgateway.testing.Eventually;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An upgrade from the layout that kept the key Secrets in the release namespace: a controller of that layout
 * (key namespace = release namespace) provisions configurations, then the controller restarts with a key namespace of
 * its own, on the same journal and Azure side. Each key Secret is moved (same keys, our labels, status naming the new
 * place, the old one deleted), so running tunnels keep their key; a configuration deleted meanwhile has its old key
 * Secret removed; somebody else's Secret of a key Secret's name in the release namespace is never touched.
 */
class KeyNamespaceMoveTest extends MockControllerTest {
  static final String NS = "apps";

  @BeforeAll
  void start() {
    MockController.crds(client, "staticgatewayconfigurations", "podendpoints", "gatewaystatuses");
    MockController.namespaces(client, RELEASE_NS, KEYS_NS, NS);
    MockController.gatewayNode(client, "gw-1", "gwpool");
    MockController.gatewayNode(client, "gw-2", "gwpool");
    ctl = MockController.start(client, "ctrl-1", "key-namespace = " + RELEASE_NS);
  }

  @Test
  void anUpgradeMovesEveryKeySecretIntoTheKeyNamespaceWithTheSameKeys() {
    assertEquals(RELEASE_NS, ctl.settings().keyNamespace(), "the old layout first");
    for (String name : List.of("kept", "doomed", "theirs")) {
      MockController.createSgc(client, NS, name, s -> s.setGatewayNodepoolName("gwpool"));
    }
    for (String name : List.of("kept", "doomed", "theirs")) {
      await(() -> status(name).isReady(), name + " Ready in the old layout");
    }
    String uid = get("kept").getMetadata().getUid();
    Secret before = client.secrets().inNamespace(RELEASE_NS).withName("sgw-" + uid).get();
    assertNotNull(before, "the old layout keeps the key in the release namespace");
    SgcStatus old = status("kept");
    assertEquals(RELEASE_NS, old.secretNamespace());
    String publicKey = old.publicKey();
    Allocation allocation = ctl.azure().allocation(uid);
    String doomedUid = get("doomed").getMetadata().getUid();
    String theirsUid = get("theirs").getMetadata().getUid();

    ctl.stop();
    // deleted while no controller ran: the finalizer holds it for the new controller to clean up
    client.resources(StaticGatewayConfiguration.class).inNamespace(NS).withName("doomed").delete();
    // a Secret of a key Secret's name that is not that configuration's (no owner labels): never moved or deleted
    client.secrets().inNamespace(RELEASE_NS).withName("sgw-" + theirsUid).delete();
    Secret foreign = new SecretBuilder().withNewMetadata().withName("sgw-" + theirsUid).withNamespace(RELEASE_NS)
        .addToLabels("team", "someone-else").endMetadata().withData(Map.of("note", "bm90IGEga2V5")).build();
    client.secrets().inNamespace(RELEASE_NS).resource(foreign).create();
    ctl.restart(s -> s.withKeyNamespace(KEYS_NS));
    assertEquals(KEYS_NS, ctl.settings().keyNamespace());

    await(() -> KEYS_NS.equals(status("kept").secretNamespace()), "the status names the key namespace");
    await(() -> client.secrets().inNamespace(RELEASE_NS).withName("sgw-" + uid).get() == null, "the old key Secret removed");
    Secret moved = client.secrets().inNamespace(KEYS_NS).withName("sgw-" + uid).get();
    assertNotNull(moved);
    assertEquals(before.getData(), moved.getData(), "the same key pair: running tunnels keep their key");
    assertEquals(NS, moved.getMetadata().getLabels().get(Fabric8SgcApi.LABEL_OWNER_NAMESPACE));
    assertEquals("kept", moved.getMetadata().getLabels().get(Fabric8SgcApi.LABEL_OWNER_NAME));
    SgcStatus now = status("kept");
    assertEquals(publicKey, now.publicKey());
    assertEquals("sgw-" + uid, now.secretName());
    assertTrue(now.isReady());
    assertEquals(allocation, ctl.azure().allocation(uid), "Azure untouched");
    await(() -> {
      ConfigView v = ConfigViews.get(ctl.system()).current().get(NS + "/kept");
      return v != null && v.ready() && publicKey.equals(v.gatewayPublicKey()) && ("sgw-" + uid).equals(v.keySecretName());
    }, "the view keeps the gateway key");
    await(() -> hasEvent("kept", "KeySecretMoved"), "a KeySecretMoved event");
    assertFalse(hasEvent("kept", "KeyPairRecreated"), "no new key pair");

    await(() -> get("doomed") == null, "the configuration deleted meanwhile is cleaned up");
    assertNull(client.secrets().inNamespace(RELEASE_NS).withName("sgw-" + doomedUid).get(), "with its old key Secret");
    assertNull(client.secrets().inNamespace(KEYS_NS).withName("sgw-" + doomedUid).get());

    await(() -> KEYS_NS.equals(status("theirs").secretNamespace()), "theirs: a key Secret of its own in the key namespace");
    Secret untouched = client.secrets().inNamespace(RELEASE_NS).withName("sgw-" + theirsUid).get();
    assertNotNull(untouched, "somebody else's Secret stays");
    assertEquals(foreign.getData(), untouched.getData());
    assertNotNull(client.secrets().inNamespace(KEYS_NS).withName("sgw-" + theirsUid).get());
    assertTrue(hasEvent("theirs", "KeyPairRecreated"), "a new pair, since the old one was not this configuration's");
  }

  StaticGatewayConfiguration get(String name) {
    return client.resources(StaticGatewayConfiguration.class).inNamespace(NS).withName(name).get();
  }

  SgcStatus status(String name) {
    StaticGatewayConfiguration sgc = get(name);
    return sgc == null ? SgcStatus.EMPTY : SgcMapping.status(sgc.getStatus());
  }

  boolean hasEvent(String name, String reason) {
    return client.v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> name.equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason()));
  }

  static void await(BooleanSupplier condition, String what) {
    Eventually.await(Duration.ofSeconds(30), condition, what);
  }
}
