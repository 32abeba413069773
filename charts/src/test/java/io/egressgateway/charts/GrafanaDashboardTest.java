package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The optional Grafana dashboard ConfigMap: absent by default, labelled for the Grafana sidecar when enabled,
 * and its JSON parses and queries only metrics the members register (and docs/metrics.md lists).
 */
class GrafanaDashboardTest {
  private static final Pattern METRIC = Pattern.compile("\\begress_[a-z0-9_]+");
  private static final Pattern REGISTERED = Pattern.compile("\"(egress_[a-z0-9_]+)\"");
  private static final Path REPO = Chart.DIR.getParent().getParent();

  static List<ConfigMap> dashboards(List<HasMetadata> docs) {
    return Chart.all(docs, ConfigMap.class).stream()
        .filter(c -> c.getMetadata().getName().endsWith("-grafana-dashboard")).toList();
  }

  static ConfigMap enabled(String... sets) {
    List<HasMetadata> docs = Chart.render(t -> {
      var c = t.set("grafanaDashboard.enabled", "true");
      for (int i = 0; i + 1 < sets.length; i += 2) {
        c = c.set(sets[i], sets[i + 1]);
      }
      return c;
    });
    List<ConfigMap> found = dashboards(docs);
    assertEquals(1, found.size());
    return found.get(0);
  }

  @Test
  void offByDefault() {
    assertEquals(List.of(), dashboards(Chart.render(t -> t)));
    assertTrue(Chart.all(Chart.render(t -> t), ConfigMap.class).stream()
        .noneMatch(c -> c.getMetadata().getLabels().containsKey("grafana_dashboard")));
  }

  @Test
  void whenEnabledTheSidecarFindsItByItsLabelInTheChosenNamespace() {
    ConfigMap cm = enabled();
    assertEquals("1", cm.getMetadata().getLabels().get("grafana_dashboard"));
    assertEquals(Chart.NAMESPACE, cm.getMetadata().getNamespace());
    assertEquals(Set.of("kube-egress-gateway-datapath.json"), cm.getData().keySet());

    ConfigMap custom = enabled("grafanaDashboard.namespace", "monitoring", "grafanaDashboard.label", "dashboards",
        "grafanaDashboard.labelValue", "egress", "grafanaDashboard.folder", "Networking");
    assertEquals("monitoring", custom.getMetadata().getNamespace());
    assertEquals("egress", custom.getMetadata().getLabels().get("dashboards"));
    assertEquals("Networking", custom.getMetadata().getAnnotations().get("grafana_folder"));
  }

  @Test
  void aBadLabelIsRefusedByTheSchema() {
    RuntimeException e = assertThrows(RuntimeException.class, () -> Chart.render(t -> t.set("grafanaDashboard.enabled", "true")
        .set("grafanaDashboard.label", "bad label: x")));
    assertTrue(String.valueOf(e.getMessage()).contains("grafanaDashboard"), e.getMessage());
  }

  @Test
  void theDashboardParsesAndQueriesOnlyRegisteredAndDocumentedMetrics() throws IOException {
    Map<?, ?> dash = new KubernetesSerialization().unmarshal(enabled().getData().get("kube-egress-gateway-datapath.json"), Map.class);
    assertEquals("kube-egress-gateway-datapath", dash.get("uid"));
    List<String> exprs = new ArrayList<>();
    for (Object panel : (List<?>) dash.get("panels")) {
      Object targets = ((Map<?, ?>) panel).get("targets");
      if (targets != null) {
        ((List<?>) targets).forEach(t -> exprs.add((String) ((Map<?, ?>) t).get("expr")));
      }
    }
    assertTrue(exprs.size() >= 8, "panels with queries: " + exprs.size());
    Set<String> used = new TreeSet<>();
    exprs.forEach(e -> names(e, used));
    ((List<?>) ((Map<?, ?>) dash.get("templating")).get("list"))
        .forEach(v -> names(String.valueOf(((Map<?, ?>) v).get("definition")), used));

    Set<String> registered = registeredNames();
    String docs = Files.readString(REPO.resolve("docs/metrics.md"));
    for (String name : used) {
      String family = name.replaceFirst("_(bucket|sum|count)$", "");
      assertTrue(registered.contains(name) || registered.contains(family),
          name + " is not registered by any member (registered: " + registered + ")");
      assertTrue(docs.contains(family), family + " is not in docs/metrics.md");
    }
    assertTrue(used.containsAll(Set.of("egress_gateway_device_peers", "egress_gateway_handshake_age_seconds_bucket",
        "egress_gateway_received_bytes_total", "egress_gateway_sent_bytes_total", "egress_gateway_snat_ports_used",
        "egress_gateway_snat_ports_available", "egress_gateway_dropped_packets_total", "egress_pod_tunnels",
        "egress_pod_config_oldest_handshake_seconds")), used.toString());
  }

  private static void names(String text, Set<String> into) {
    Matcher m = METRIC.matcher(text);
    while (m.find()) {
      into.add(m.group());
    }
  }

  /** Metric names written as string literals in the members' main sources (where they are registered). */
  private static Set<String> registeredNames() throws IOException {
    Set<String> out = new TreeSet<>();
    try (Stream<Path> files = Files.walk(REPO, 12)) {
      files.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/")
              && !p.toString().contains("/sandbox/")
              && !p.toString().contains("/target/"))
          .forEach(p -> {
            try {
              Matcher m = REGISTERED.matcher(Files.readString(p));
              while (m.find()) {
                out.add(m.group(1));
              }
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }
    assertFalse(out.isEmpty(), "no metric names found under " + REPO);
    return out;
  }
}
