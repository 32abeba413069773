package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.TestMembers;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.infra.ControllerBridge;
import io.egressgateway.kube.infra.InMemoryAzureProvisioner;
import io.egressgateway.kube.infra.SgcMapping;
import io.egressgateway.kube.model.SgcStatus;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The SGC half of the bad-input corpus: every entry is applied as a user (or a newer client) could write it,
 * against one running controller, and must end in {@code Accepted=False} with its own reason and a Warning Event,
 * with nothing provisioned for it; a valid neighbour applied first keeps its status untouched throughout, and a
 * valid configuration applied after all of them is still served.
 */
class SgcBadInputTest extends MockControllerTest {
  static final String NS = "corpus";
  static final String BYO = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/byo-corpus";

  InMemoryAzureProvisioner azure;

  /** name, spec as written (null: no spec at all), expected Accepted reason. */
  record Bad(String name, Map<String, Object> spec, String reason) {}

  static Map<String, Object> spec(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  static final List<Bad> CORPUS = List.of(
      new Bad("both-pools", spec("gatewayNodepoolName", "gwpool",
          "gatewayVmssProfile", spec("vmssResourceGroup", "rg", "vmssName", "gwvmss", "publicIpPrefixSize", 31)), "AmbiguousGatewayPool"),
      new Bad("no-pool", spec("excludeCidrs", List.of("10.0.0.0/8")), "MissingGatewayPool"),
      new Bad("no-spec", null, "MissingGatewayPool"),
      new Bad("empty-spec", spec(), "MissingGatewayPool"),
      new Bad("empty-vmss", spec("gatewayVmssProfile", spec()), "MissingGatewayPool"),
      new Bad("prefix-id-private", spec("gatewayNodepoolName", "gwpool", "provisionPublicIps", false,
          "publicIpPrefixId", BYO), "PrefixIdWithoutPublicIps"),
      new Bad("size-24", spec("gatewayVmssProfile", spec("vmssResourceGroup", "rg", "vmssName", "gwvmss",
          "publicIpPrefixSize", 24)), "InvalidPrefixSize"),
      new Bad("size-40", spec("gatewayVmssProfile", spec("vmssResourceGroup", "rg", "vmssName", "gwvmss",
          "publicIpPrefixSize", 40)), "InvalidPrefixSize"),
      new Bad("size-negative", spec("gatewayVmssProfile", spec("vmssResourceGroup", "rg", "vmssName", "gwvmss",
          "publicIpPrefixSize", -1)), "InvalidPrefixSize"),
      new Bad("vmss-no-group", spec("gatewayVmssProfile", spec("vmssName", "gwvmss", "publicIpPrefixSize", 30)), "InvalidVmssProfile"),
      new Bad("vmss-no-name", spec("gatewayVmssProfile", spec("vmssResourceGroup", "rg", "publicIpPrefixSize", 30)), "InvalidVmssProfile"),
      new Bad("cidr-33", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", List.of("10.0.0.0/33")), "InvalidExcludeCidr"),
      new Bad("cidr-word", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", List.of("banana")), "InvalidExcludeCidr"),
      new Bad("cidr-ipv6", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", List.of("fd00::/8")), "InvalidExcludeCidr"),
      new Bad("cidr-newline", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", List.of("10.0.0.0/8\nnetns exec x sh")),
          "InvalidExcludeCidr"),
      new Bad("cidr-no-length", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", List.of("10.0.0.0")), "InvalidExcludeCidr"),
      new Bad("cidr-empty", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", List.of("")), "InvalidExcludeCidr"),
      new Bad("cidr-leading-zero", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", List.of("010.0.0.0/8")), "InvalidExcludeCidr"),
      new Bad("vmss-a-list", spec("gatewayVmssProfile", List.of("rg", "gwvmss")), "UnreadableSpec"),
      new Bad("public-ips-an-object", spec("gatewayNodepoolName", "gwpool", "provisionPublicIps", spec("yes", true)), "UnreadableSpec"),
      new Bad("size-a-word", spec("gatewayVmssProfile", spec("vmssResourceGroup", "rg", "vmssName", "gwvmss",
          "publicIpPrefixSize", "big")), "UnreadableSpec"),
      new Bad("route-sideways", spec("gatewayNodepoolName", "gwpool", "defaultRoute", "sideways"), "UnreadableSpec"),
      new Bad("cidrs-an-object", spec("gatewayNodepoolName", "gwpool", "excludeCidrs", spec("a", "10.0.0.0/8")), "UnreadableSpec"));

  @BeforeAll
  void start() {
    MockController.crds(client, "staticgatewayconfigurations", "podendpoints", "gatewaystatuses");
    MockController.namespaces(client, RELEASE_NS, KEYS_NS, NS);
    MockController.gatewayNode(client, "gw-1", "gwpool");
    MockController.gatewayNode(client, "gw-2", "gwpool");
    ctl = MockController.start(client, "ctrl-corpus", "");
    azure = ctl.azure();
  }

  @Test
  void everyBadSpecIsRejectedAloneWithItsReasonAndTheNeighboursAreServed() {
    apply("neighbour", spec("gatewayNodepoolName", "gwpool"));
    awaitReady("neighbour");
    Object neighbourStatus = sgc("neighbour").getAdditionalProperties().get("status");

    CORPUS.forEach(b -> apply(b.name(), b.spec()));
    for (Bad b : CORPUS) {
      TestMembers.await(Duration.ofSeconds(30), () -> accepted(b.name()).map(c -> !c.isTrue()).orElse(false),
          b.name() + " rejected");
      SgcStatus.Condition c = accepted(b.name()).orElseThrow();
      assertEquals(b.reason(), c.reason(), b.name() + ": " + c.message());
      assertFalse(c.message().isBlank(), b.name());
      assertEquals(1, c.message().lines().count(), b.name() + ": one line, control characters never copied: " + c.message());
      TestMembers.await(Duration.ofSeconds(20), () -> warned(b.name(), b.reason()), b.name() + " Warning Event");
      GenericKubernetesResource g = sgc(b.name());
      assertFalse(g.getMetadata().getFinalizers() != null
          && g.getMetadata().getFinalizers().contains(StaticGatewayConfiguration.FINALIZER), b.name());
      assertFalse(azure.provisionedUids().contains(g.getMetadata().getUid()), b.name());
      assertFalse(ConfigViews.get(ctl.system()).current().containsKey(NS + "/" + b.name()), b.name());
    }
    assertEquals(neighbourStatus, sgc("neighbour").getAdditionalProperties().get("status"), "the neighbour's status is untouched");
    apply("after", spec("gatewayNodepoolName", "gwpool"));
    awaitReady("after");
  }

  @Test
  void aBringYourOwnPrefixServesOneConfigurationAndPassesOnWhenItsOwnerLetsGo() {
    apply("prefix-owner", spec("gatewayNodepoolName", "gwpool", "publicIpPrefixId", BYO));
    awaitReady("prefix-owner");
    // the same prefix again, also written in other letter case (ARM ids ignore case)
    apply("prefix-second", spec("gatewayNodepoolName", "gwpool", "publicIpPrefixId", BYO));
    apply("prefix-upper", spec("gatewayNodepoolName", "gwpool", "publicIpPrefixId", BYO.toUpperCase()));
    for (String name : List.of("prefix-second", "prefix-upper")) {
      TestMembers.await(Duration.ofSeconds(30), () -> accepted(name).map(c -> !c.isTrue()).orElse(false), name + " rejected");
      SgcStatus.Condition c = accepted(name).orElseThrow();
      assertEquals("PrefixInUse", c.reason(), c.message());
      assertTrue(c.message().contains(NS + "/prefix-owner"), c.message());
      TestMembers.await(Duration.ofSeconds(20), () -> warned(name, "PrefixInUse"), name + " Warning Event");
    }
    assertTrue(accepted("prefix-owner").orElseThrow().isTrue(), "the owner is unaffected");

    // the owner moves to a managed prefix: the older of the two waiting ones takes the BYO prefix by itself
    GenericKubernetesResource owner = sgc("prefix-owner");
    owner.setAdditionalProperty("spec", spec("gatewayNodepoolName", "gwpool"));
    client.genericKubernetesResources(ControllerBridge.SGC_KIND).inNamespace(NS).resource(owner).update();
    awaitReady("prefix-second");
    assertEquals("PrefixInUse", accepted("prefix-upper").orElseThrow().reason());
    assertTrue(accepted("prefix-upper").orElseThrow().message().contains(NS + "/prefix-second"),
        accepted("prefix-upper").orElseThrow().message());
  }

  @Test
  void aConfigurationInvalidForAnotherReasonTakesNoPrefixFromAWorkingOne() {
    // older, and first by name too, but it cannot use the prefix (no public IPs): it must not make the next one wait
    String prefix = BYO + "-broken-first";
    apply("a-broken", spec("gatewayNodepoolName", "gwpool", "provisionPublicIps", false, "publicIpPrefixId", prefix));
    TestMembers.await(Duration.ofSeconds(30), () -> accepted("a-broken").map(c -> !c.isTrue()).orElse(false), "a-broken rejected");
    assertEquals("PrefixIdWithoutPublicIps", accepted("a-broken").orElseThrow().reason());
    apply("z-working", spec("gatewayNodepoolName", "gwpool", "publicIpPrefixId", prefix));
    awaitReady("z-working");
    assertEquals("PrefixIdWithoutPublicIps", accepted("a-broken").orElseThrow().reason(), "rejected for its own reason only");
  }

  @Test
  void aSecretOfTheKeyNameThatIsNotOursIsNeitherUsedNorChangedNorDeleted() {
    // first unreadable, so the controller makes no Secret while the foreign one is put in place under its uid
    apply("foreign-secret", spec("gatewayVmssProfile", List.of("not", "yet")));
    TestMembers.await(Duration.ofSeconds(30), () -> accepted("foreign-secret").map(c -> !c.isTrue()).orElse(false), "held back");
    String uid = sgc("foreign-secret").getMetadata().getUid();
    io.fabric8.kubernetes.api.model.Secret foreign = new io.fabric8.kubernetes.api.model.SecretBuilder()
        .withNewMetadata().withName("sgw-" + uid).withNamespace(KEYS_NS).addToLabels("team", "someone-else").endMetadata()
        .addToData("note", "bm90IG91cnM=").build();
    client.secrets().inNamespace(KEYS_NS).resource(foreign).create();
    GenericKubernetesResource fixed = sgc("foreign-secret");
    fixed.setAdditionalProperty("spec", spec("gatewayNodepoolName", "gwpool"));
    client.genericKubernetesResources(ControllerBridge.SGC_KIND).inNamespace(NS).resource(fixed).update();

    TestMembers.await(Duration.ofSeconds(30), () -> client.v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "foreign-secret".equals(e.getInvolvedObject().getName()) && "Warning".equals(e.getType())
            && e.getMessage().contains("is not the key Secret of " + NS + "/foreign-secret")),
        "a Warning Event says the Secret is not the configuration's own");
    TestMembers.await(Duration.ofSeconds(30), () -> accepted("foreign-secret")
        .map(c -> !c.isTrue() && "KeySecretConflict".equals(c.reason()) && c.message().contains("is not the key Secret of"))
        .orElse(false), "the SGC's Accepted condition says why");
    assertFalse(SgcMapping.status(sgc("foreign-secret"), client.getKubernetesSerialization()).isReady());
    assertEquals(foreign.getData(), client.secrets().inNamespace(KEYS_NS).withName("sgw-" + uid).get().getData(),
        "the foreign Secret is unchanged");
    var view = ConfigViews.get(ctl.system()).current().get(NS + "/foreign-secret");
    assertTrue(view == null || !view.ready(), "never served");
    client.genericKubernetesResources(ControllerBridge.SGC_KIND).inNamespace(NS).withName("foreign-secret").delete();
    TestMembers.await(Duration.ofSeconds(30), () -> sgc("foreign-secret") == null, "deleted");
    assertEquals(foreign.getData(), client.secrets().inNamespace(KEYS_NS).withName("sgw-" + uid).get().getData(),
        "and not deleted with the configuration");
  }

  void apply(String name, Map<String, Object> spec) {
    GenericKubernetesResourceBuilder b = new GenericKubernetesResourceBuilder()
        .withApiVersion(StaticGatewayConfiguration.GROUP + "/" + StaticGatewayConfiguration.VERSION)
        .withKind("StaticGatewayConfiguration")
        .withNewMetadata().withName(name).withNamespace(NS).endMetadata();
    if (spec != null) {
      b.addToAdditionalProperties("spec", spec);
    }
    client.genericKubernetesResources(ControllerBridge.SGC_KIND).inNamespace(NS).resource(b.build()).create();
  }

  GenericKubernetesResource sgc(String name) {
    return client.genericKubernetesResources(ControllerBridge.SGC_KIND).inNamespace(NS).withName(name).get();
  }

  java.util.Optional<SgcStatus.Condition> accepted(String name) {
    GenericKubernetesResource g = sgc(name);
    return g == null ? java.util.Optional.empty()
        : SgcMapping.status(g, client.getKubernetesSerialization()).condition(SgcStatus.ACCEPTED);
  }

  void awaitReady(String name) {
    TestMembers.await(Duration.ofSeconds(30), () -> {
      GenericKubernetesResource g = sgc(name);
      return g != null && SgcMapping.status(g, client.getKubernetesSerialization()).isReady();
    }, name + " Ready");
  }

  boolean warned(String name, String reason) {
    return client.v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> name.equals(e.getInvolvedObject().getName()) && "Warning".equals(e.getType())
            && e.getMessage().startsWith(reason));
  }
}
