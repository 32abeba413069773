package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.egressgateway.kube.infra.Fabric8SgcApi;
import io.egressgateway.kube.infra.SgcApi;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import org.junit.jupiter.api.Test;

/** Finding the Go original's GatewayLBConfiguration and GatewayVMConfiguration of an SGC on the mock API server. */
@EnableKubernetesMockClient(crud = true)
class LegacyLookupTest {
  static KubernetesClient client;

  /** Creates an object owned by {@code ownerUid}; returns the uid the API server gave it. */
  private static String create(ResourceDefinitionContext kind, String name, String ownerKind, String ownerUid) {
    GenericKubernetesResource r = new GenericKubernetesResourceBuilder()
        .withApiVersion(kind.getGroup() + "/" + kind.getVersion()).withKind(kind.getKind())
        .withNewMetadata().withNamespace("apps").withName(name)
        .addNewOwnerReference().withApiVersion(kind.getGroup() + "/" + kind.getVersion()).withKind(ownerKind).withName(name)
        .withUid(ownerUid).withController(true).endOwnerReference()
        .endMetadata().build();
    return client.genericKubernetesResources(kind).inNamespace("apps").resource(r).create().getMetadata().getUid();
  }

  @Test
  void uidsOfTheGoObjectsOwnedByThisSgcOnly() {
    SgcApi api = new Fabric8SgcApi(client, "egress-system");
    assertEquals(SgcApi.LegacyUids.NONE, api.legacyUids("apps", "gw", "sgc-1"), "no CRD, no object: nothing to adopt");

    String lb = create(Fabric8SgcApi.LEGACY_LB, "gw", "StaticGatewayConfiguration", "sgc-1");
    assertEquals(new SgcApi.LegacyUids(lb, ""), api.legacyUids("apps", "gw", "sgc-1"));
    String vm = create(Fabric8SgcApi.LEGACY_VM, "gw", "GatewayLBConfiguration", lb);
    assertEquals(new SgcApi.LegacyUids(lb, vm), api.legacyUids("apps", "gw", "sgc-1"));
    assertEquals(SgcApi.LegacyUids.NONE, api.legacyUids("apps", "gw", "sgc-2"),
        "left over from an earlier SGC of the same name: not ours to adopt");

    String lb2 = create(Fabric8SgcApi.LEGACY_LB, "other", "StaticGatewayConfiguration", "sgc-3");
    create(Fabric8SgcApi.LEGACY_VM, "other", "GatewayLBConfiguration", "lb-stale");
    assertEquals(new SgcApi.LegacyUids(lb2, ""), api.legacyUids("apps", "other", "sgc-3"), "a VM config of another LB config is not used");
  }
}
