package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.cni.NodeHints;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.GatewayNamespaces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's namespaces file, as the plugin reads it. */
class GatewayNamespacesTest {
  @TempDir Path dir;

  @Test
  void namespacesOfTheViewAreWrittenForThePluginAndAnEmptyViewOnlyAfterTheAgentHasRunAWhile() throws Exception {
    AtomicLong now = new AtomicLong(0);
    GatewayNamespaces hints = new GatewayNamespaces(dir, Runnable::run, Duration.ofSeconds(30), now::get);
    assertEquals(NodeHints.FILE, hints.file().getFileName().toString(), "the name the plugin looks for");

    hints.offerViews(Map.of());
    assertFalse(Files.exists(hints.file()), "a view not replicated yet looks empty: nothing written");

    Map<String, ConfigView> views = Fixtures.views(Fixtures.view("team-a/gw", true), Fixtures.view("team-b/egress", true),
        Fixtures.view("team-a/other", true));
    hints.offerViews(views);
    List<String> lines = Files.readAllLines(hints.file());
    assertTrue(lines.get(0).startsWith("#"));
    assertEquals(List.of("team-a", "team-b"), lines.subList(1, lines.size()));
    assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(hints.file()));

    // the plugin's decisions from this file
    Map<String, String> env = Map.of("CNI_ARGS", "K8S_POD_NAMESPACE=plain;K8S_POD_NAME=p");
    assertTrue(NodeHints.decide(Map.of(), env, dir.resolve("cni.sock")).plain());
    assertFalse(NodeHints.decide(Map.of(), Map.of("CNI_ARGS", "K8S_POD_NAMESPACE=team-b;K8S_POD_NAME=p"),
        dir.resolve("cni.sock")).plain());

    hints.offerViews(Map.of());
    assertEquals(List.of("team-a", "team-b"), Files.readAllLines(hints.file()).subList(1, 3), "still within 30 s of start");
    now.set(Duration.ofSeconds(31).toNanos());
    hints.offerViews(Map.of());
    assertEquals(1, Files.readAllLines(hints.file()).size(), "configurations gone: no namespace listed");
    assertFalse(Files.exists(dir.resolve(".gateway-namespaces.tmp")));
  }

  @Test
  void namespacesWherePoliciesSelectPodsAreListedAndMarkedForThePlugin() throws Exception {
    AtomicLong now = new AtomicLong(0);
    GatewayNamespaces hints = new GatewayNamespaces(dir, Runnable::run, Duration.ofSeconds(30), now::get);
    hints.offerViews(Fixtures.views(Fixtures.view("egress/gw", true)));
    hints.offerPolicies(Map.of("batch", new io.egressgateway.core.model.GatewayPolicy("batch", "u", 0,
        List.of("data", "ml", "Not A Namespace"), null, "egress/gw")));
    List<String> lines = Files.readAllLines(hints.file());
    assertEquals(List.of("data", "egress", "ml", "policy data", "policy ml"), lines.subList(1, lines.size()));

    String annotations = "{\"" + NodeHints.POD_ANNOTATIONS + "\":{}}";
    Map<String, Object> conf = Map.of("runtimeConfig", Map.of(NodeHints.POD_ANNOTATIONS, Map.of("team", "x")));
    Map<String, String> inData = Map.of("CNI_ARGS", "K8S_POD_NAMESPACE=data;K8S_POD_NAME=p");
    Map<String, String> inEgress = Map.of("CNI_ARGS", "K8S_POD_NAMESPACE=egress;K8S_POD_NAME=p");
    assertFalse(NodeHints.decide(conf, inData, dir.resolve("cni.sock")).plain(), "a policy may select it: " + annotations);
    assertTrue(NodeHints.decide(conf, inEgress, dir.resolve("cni.sock")).plain(), "unannotated, and no policy there");

    // a restarted agent: the previous one's policy namespaces count until its own policies arrive (or 30 s pass)
    GatewayNamespaces restarted = new GatewayNamespaces(dir, Runnable::run, Duration.ofSeconds(30), now::get);
    assertEquals(java.util.Set.of("data", "ml"), restarted.policyNamespacesAtStart());
    restarted.offerViews(Fixtures.views(Fixtures.view("egress/gw", true)));
    restarted.offerPolicies(Map.of());
    assertEquals(List.of("data", "egress", "ml", "policy data", "policy ml"), Files.readAllLines(hints.file()).subList(1, 6),
        "an empty policy view right after the start is not taken for 'no policies'");

    now.set(Duration.ofSeconds(31).toNanos());
    restarted.offerPolicies(Map.of());
    assertEquals(List.of("egress"), Files.readAllLines(hints.file()).subList(1, 2));
    assertEquals(2, Files.readAllLines(hints.file()).size(), "the policy's namespaces are gone with it");
  }
}
