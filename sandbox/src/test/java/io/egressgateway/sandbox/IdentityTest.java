package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the sandbox's identity check reads from a member's output, and its verdict. */
class IdentityTest {
  private static final Instant SINCE = Instant.parse("2026-12-05T10:00:00Z");

  @TempDir
  Path dir;

  private Identity.Container read(String role, String... lines) throws Exception {
    Path f = dir.resolve(role + ".log");
    Files.write(f, List.of(lines));
    return Identity.read(f, "pod/" + role, role, SINCE);
  }

  private static String signs(String time, String roles, boolean enforce) {
    return time + " INFO  i.e.core.security.Security - member signs as Principal[roles=[" + roles
        + "], node=Optional.empty, subject=CN=egress-kube-egress-gateway member] (enforce = " + enforce + ")";
  }

  private static ObjectNode verdict(List<Identity.Container> containers, long refusedMessages) {
    return Identity.report(containers, 6, 6, refusedMessages, 0, "test", new PrintStream(new ByteArrayOutputStream()));
  }

  @Test
  void eachRoleSigningAsItselfWithEnforcementAndNothingRefusedIsOk() throws Exception {
    List<Identity.Container> cs = new ArrayList<>();
    for (String role : Release.ROLES) {
      cs.add(read(role, signs("2026-12-05T10:00:01.000Z", role, true),
          "2026-12-05T10:00:02.000Z WARN  a.m.c.b.i.HttpContactPointBootstrap - Probing failed: Connection refused"));
    }
    Identity.Container starting = read("gateway", signs("2026-12-05T10:00:01.000Z", "gateway", true),
        "2026-12-05T10:00:02.000Z INFO  i.e.core.security.Security - dropped PeersOfNode from a remote member ([worker]) unchecked:"
            + " the pod CIDRs of node worker-1 are not known yet (the nodes are not listed yet)");
    assertEquals(1, starting.unchecked());
    assertEquals(0, starting.refused().size());
    cs.add(starting);
    ObjectNode r = verdict(cs, 0);
    assertTrue(r.path("ok").asBoolean(), "what a starting gateway could not check yet is no refusal: " + r.toPrettyString());
    assertEquals(1, r.path("uncheckedLogLines").asInt());
    assertEquals(1, r.path("containersEnforcing").path("worker").asInt());
    assertEquals(2, r.path("containersEnforcing").path("gateway").asInt());
    assertFalse(verdict(cs, 1).path("ok").asBoolean(), "a refusal counted in /metrics fails it");
    assertFalse(verdict(cs.subList(0, 2), 0).path("ok").asBoolean(), "no worker seen enforcing");
  }

  @Test
  void aRefusalADowningAnotherRoleOrEnforcementOffFailIt() throws Exception {
    Identity.Container refused = read("gateway", signs("2026-12-05T10:00:01.000Z", "gateway", true),
        "2026-12-05T10:05:00.000Z WARN  i.e.core.security.Security - refused AddPeer from akka://x (worker, node -): only workers");
    assertEquals(1, refused.refused().size());
    Identity.Container downing = read("controller", signs("2026-12-05T10:00:01.000Z", "controller", true),
        "2026-12-05T10:05:00.000Z WARN  i.e.core.security.RoleAttestation - downing member akka://x ([worker]): gave no valid proof");
    assertEquals(1, downing.downed().size());
    Identity.Container worker = read("worker", signs("2026-12-05T10:00:01.000Z", "worker", true));
    assertFalse(verdict(List.of(refused, downing, worker), 0).path("ok").asBoolean());

    Identity.Container off = read("gateway", signs("2026-12-05T10:00:01.000Z", "gateway", false));
    Identity.Container other = read("worker", signs("2026-12-05T10:00:01.000Z", "controller", true));
    ObjectNode r = verdict(List.of(read("controller", signs("2026-12-05T10:00:01.000Z", "controller", true)), off, other), 0);
    assertFalse(r.path("ok").asBoolean());
    assertEquals(2, r.path("wrongIdentity").size(), r.toPrettyString());
  }

  @Test
  void linesFromBeforeTheRunAreNotRead() throws Exception {
    Identity.Container c = read("controller", signs("2026-12-05T09:00:01.000Z", "", false),
        "2026-12-05T09:05:00.000Z WARN  i.e.core.security.RoleAttestation - downing member akka://x ([worker]): gave no valid proof");
    assertNull(c.signedAs());
    assertEquals(0, c.downed().size());
  }
}
