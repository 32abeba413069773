package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CRDs generated from the Java classes (crd-generator, process-classes) are the ones the chart ships,
 * and they carry every upstream field with the upstream type.
 */
class CrdFilesTest {
  static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
  static final Path CHART = Path.of("../charts/kube-egress-gateway/crds");
  static final String UPDATE = "mvn -B -pl kube-bridge test -Dtest=CrdFilesTest -Dcrds.update=true";

  @Test
  void chartCopyMatchesGeneratedCrds() throws IOException {
    Map<String, String> generated = generated();
    assertEquals(5, generated.size(), "expected 5 generated CRDs in " + GENERATED);
    if (Boolean.getBoolean("crds.update")) {
      Files.createDirectories(CHART);
      for (var e : generated.entrySet()) {
        Files.writeString(CHART.resolve(e.getKey()), e.getValue());
      }
    }
    List<String> stale = new ArrayList<>();
    for (var e : generated.entrySet()) {
      Path committed = CHART.resolve(e.getKey());
      if (!Files.exists(committed) || !Files.readString(committed).equals(e.getValue())) {
        stale.add(e.getKey());
      }
    }
    if (!stale.isEmpty()) {
      fail("CRDs under charts/kube-egress-gateway/crds differ from the ones generated from the Java classes: "
          + stale + ". Run: " + UPDATE);
    }
  }

  @Test
  void sgcCarriesEveryUpstreamFieldWithItsType() throws IOException {
    JSONSchemaProps root = schema("staticgatewayconfigurations");
    Map<String, String> upstream = new LinkedHashMap<>();
    upstream.put("spec.gatewayNodepoolName", "string");
    upstream.put("spec.gatewayVmssProfile", "object");
    upstream.put("spec.gatewayVmssProfile.vmssResourceGroup", "string");
    upstream.put("spec.gatewayVmssProfile.vmssName", "string");
    upstream.put("spec.gatewayVmssProfile.publicIpPrefixSize", "integer");
    upstream.put("spec.defaultRoute", "string");
    upstream.put("spec.provisionPublicIps", "boolean");
    upstream.put("spec.publicIpPrefixId", "string");
    upstream.put("spec.excludeCidrs", "array");
    upstream.put("status.egressIpPrefix", "string");
    upstream.put("status.gatewayServerProfile", "object");
    upstream.put("status.gatewayServerProfile.ip", "string");
    upstream.put("status.gatewayServerProfile.port", "integer");
    upstream.put("status.gatewayServerProfile.publicKey", "string");
    upstream.put("status.gatewayServerProfile.privateKeySecretRef", "object");
    upstream.put("status.gatewayServerProfile.privateKeySecretRef.name", "string");
    upstream.put("status.gatewayServerProfile.privateKeySecretRef.namespace", "string");
    upstream.forEach((path, type) -> assertEquals(type, at(root, path).getType(), path));

    assertEquals("string", at(root, "spec.excludeCidrs").getItems().getSchema().getType());
    assertEquals("int32", at(root, "spec.gatewayVmssProfile.publicIpPrefixSize").getFormat());
    assertEquals("int32", at(root, "status.gatewayServerProfile.port").getFormat());
    assertEquals(List.of("provisionPublicIps"), at(root, "spec").getRequired());
    assertEquals("true", at(root, "spec.provisionPublicIps").getDefault().toString());
    assertEquals("staticEgressGateway", at(root, "spec.defaultRoute").getDefault().asText());
    assertEquals(List.of("azureNetworking", "staticEgressGateway"),
        at(root, "spec.defaultRoute").getEnum().stream().map(n -> n.asText()).toList());
    assertEquals(0.0, at(root, "spec.gatewayVmssProfile.publicIpPrefixSize").getMinimum());
    assertEquals(31.0, at(root, "spec.gatewayVmssProfile.publicIpPrefixSize").getMaximum());
    // additions
    assertEquals("array", at(root, "status.conditions").getType());
    assertEquals("integer", at(root, "status.observedGeneration").getType());
    assertEquals("string", at(root, "status.gatewayProfiles").getItems().getSchema().getProperties().get("secondaryIP").getType());
    assertEquals(3, at(root, "spec").getXKubernetesValidations().size());
    assertEquals(io.egressgateway.kube.model.Cidrs.IPV4_CIDR, at(root, "spec.excludeCidrs").getItems().getSchema().getPattern());
  }

  @Test
  void sgcHasShortNamePrinterColumnsAndStatusSubresource() throws IOException {
    CustomResourceDefinition crd = crd("staticgatewayconfigurations");
    assertEquals(List.of("sgc"), crd.getSpec().getNames().getShortNames());
    assertEquals("Namespaced", crd.getSpec().getScope());
    var version = crd.getSpec().getVersions().get(0);
    assertEquals("v1alpha1", version.getName());
    assertNotNull(version.getSubresources().getStatus());
    List<String> columns = version.getAdditionalPrinterColumns().stream().map(c -> c.getName()).toList();
    assertTrue(columns.containsAll(List.of("Egress Prefix", "ILB IP", "Port", "Ready", "Age")), columns.toString());
  }

  @Test
  void podEndpointAndGatewayStatusCarryUpstreamFields() throws IOException {
    JSONSchemaProps pe = schema("podendpoints");
    for (String f : List.of("staticGatewayConfiguration", "podIpAddress", "podPublicKey")) {
      assertEquals("string", at(pe, "spec." + f).getType(), f);
    }
    JSONSchemaProps gs = schema("gatewaystatuses");
    JSONSchemaProps configs = at(gs, "spec.readyGatewayConfigurations").getItems().getSchema();
    assertEquals("string", configs.getProperties().get("staticGatewayConfiguration").getType());
    assertEquals("string", configs.getProperties().get("interfaceName").getType());
    JSONSchemaProps peers = at(gs, "spec.readyPeerConfigurations").getItems().getSchema();
    for (String f : List.of("podEndpoint", "interfaceName", "publicKey")) {
      assertEquals("string", peers.getProperties().get(f).getType(), f);
    }
  }

  @Test
  void prefixGrantIsClusterScopedAndNeedsPrefixesAndNamespaces() throws IOException {
    CustomResourceDefinition crd = crd("egressprefixgrants");
    assertEquals("Cluster", crd.getSpec().getScope(), "only cluster administrators may grant");
    assertEquals("EgressPrefixGrant", crd.getSpec().getNames().getKind());
    assertEquals(List.of("epg"), crd.getSpec().getNames().getShortNames());
    JSONSchemaProps root = schema("egressprefixgrants");
    assertEquals(List.of("publicIpPrefixIds"), at(root, "spec").getRequired());
    assertEquals(List.of("has(self.namespaces) || has(self.namespaceSelector)"),
        at(root, "spec").getXKubernetesValidations().stream().map(v -> v.getRule()).toList());
    assertEquals("object", at(root, "spec.namespaceSelector").getType());
    assertEquals("array", at(root, "spec.namespaceSelector.matchExpressions").getType());
    for (String f : List.of("spec.namespaces", "spec.publicIpPrefixIds")) {
      assertEquals("array", at(root, f).getType(), f);
      assertEquals(1L, at(root, f).getMinItems(), f);
      assertEquals("string", at(root, f).getItems().getSchema().getType(), f);
    }
    String prefixPattern = at(root, "spec.publicIpPrefixIds").getItems().getSchema().getPattern();
    String id = "/subscriptions/sub/resourcegroups/rg/providers/Microsoft.Network/publicIPPrefixes/p1";
    assertTrue(java.util.regex.Pattern.compile(prefixPattern).matcher(id).matches(), "ARM ids are case-insensitive");
    assertFalse(java.util.regex.Pattern.compile(prefixPattern).matcher("p1").matches());
  }

  static Map<String, String> generated() throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(GENERATED)) {
      for (Path p : files.filter(f -> f.toString().endsWith("-v1.yml")).sorted().toList()) {
        String name = p.getFileName().toString().replace("-v1.yml", ".yaml");
        out.put(name, Files.readString(p));
      }
    }
    return out;
  }

  static CustomResourceDefinition crd(String plural) throws IOException {
    String yaml = Files.readString(GENERATED.resolve(plural + ".egressgateway.kubernetes.azure.com-v1.yml"));
    return new KubernetesSerialization().unmarshal(yaml, CustomResourceDefinition.class);
  }

  static JSONSchemaProps schema(String plural) throws IOException {
    return crd(plural).getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema();
  }

  static JSONSchemaProps at(JSONSchemaProps root, String path) {
    JSONSchemaProps cur = root;
    for (String part : path.split("\\.")) {
      cur = cur.getProperties() == null ? null : cur.getProperties().get(part);
      assertNotNull(cur, "missing field " + path);
    }
    return cur;
  }
}
