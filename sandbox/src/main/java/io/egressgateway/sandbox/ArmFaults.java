package io.egressgateway.sandbox;

import io.egressgateway.armsim.ArmSimulator;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Azure Resource Manager misbehaving under the controllers, through the ARM simulator's fault switches: an
 * operation held open while every controller is SIGKILLed (once while a configuration is made, once while
 * one is deleted, so a pool write is between its intent and its result); an operation that ends
 * {@code Failed} and writes answered 409 {@code AnotherOperationInProgress}. Afterwards the configuration's
 * resources exist exactly once (or not at all after the delete) and its pods egress from its prefix.
 */
final class ArmFaults {
  private static final String PREFIXES = "Microsoft.Network/publicIPPrefixes";

  private final Faults f;

  ArmFaults(Faults f) {
    this.f = f;
  }

  private ArmSimulator arm() {
    return f.azure.arm();
  }

  /** A configuration and its pod made while ARM holds every operation open; the controllers killed meanwhile. */
  void killDuringOperation(Faults.Run run) {
    long putsBefore = arm().count("PUT", "/publicIPPrefixes/");
    arm().holdOperations(true);
    String sgc = f.name("lro");
    String pod;
    try {
      f.createSgc(sgc);
      run.onCleanUp(() -> run.check(f.deleteSgc(sgc, Duration.ofSeconds(120)), "configuration " + sgc + " was not deleted"));
      pod = f.createPod(f.name("lro-pod"), f.workers().get(0), sgc);
      run.pods.add(pod);
      run.onCleanUp(() -> deletePod(run, pod));
      boolean inFlight = Sh.poll(() -> arm().count("PUT", "/publicIPPrefixes/") > putsBefore && arm().operationsInProgress() > 0,
          b -> b, Duration.ofSeconds(90), 250);
      run.r.put("operationInFlight", inFlight);
      run.check(inFlight, "the controller started no operation for the new prefix");
      killControllers(run);
      Sh.sleep(3_000);
    } finally {
      arm().holdOperations(false);
    }
    awaitControllers(run);
    run.healed();
    // exactly one prefix for the configuration, however many times the write was retried
    long prefixes = Sh.poll(() -> prefixesNamed(sgc), n -> n == 1, Duration.ofSeconds(120), 1000);
    run.r.put("prefixesForSgc", prefixes);
    run.check(prefixes == 1, prefixes + " prefixes for " + sgc + ", want 1");
  }

  /** A configuration converged, then deleted while ARM holds its operations open; the controllers killed meanwhile. */
  void killBetweenIntentAndResult(Faults.Run run) {
    String sgc = f.name("intent");
    f.createSgc(sgc);
    String pod = f.createPod(f.name("intent-pod"), f.workers().get(0), sgc);
    boolean up = f.convergedAt(List.of(pod), Duration.ofSeconds(120)) > 0;
    run.check(up, "the configuration " + sgc + " did not converge before the fault");
    deletePod(run, pod);
    long writesBefore = arm().writes();
    arm().holdOperations(true);
    try {
      f.kube.genericKubernetesResources(Demo.SGC).inNamespace(Faults.NS).withName(sgc).delete();
      boolean inFlight = Sh.poll(() -> arm().writes() > writesBefore && arm().operationsInProgress() > 0, b -> b,
          Duration.ofSeconds(90), 250);
      run.r.put("operationInFlight", inFlight);
      run.check(inFlight, "the controller started no write for the deletion");
      killControllers(run);
      Sh.sleep(3_000);
    } finally {
      arm().holdOperations(false);
    }
    awaitControllers(run);
    run.healed();
    boolean gone = Sh.poll(() -> f.kube.genericKubernetesResources(Demo.SGC).inNamespace(Faults.NS).withName(sgc).get() == null,
        b -> b, Duration.ofSeconds(120), 1000);
    run.r.put("sgcGone", gone);
    run.check(gone, "configuration " + sgc + " was not deleted after the controllers came back");
    // Azure compared with the inventory before the scenario: the configuration's prefix is gone, nothing else
  }

  /**
   * The next operation ends Failed and the scale set's next writes get 409: the configuration still
   * converges well within the rejection delay (5 min), and its condition says what is going on meanwhile.
   */
  void failedAndConflict(Faults.Run run) {
    arm().failNextOperations(1);
    arm().failNext("PUT", "/virtualMachineScaleSets/[^/]+$", 409, 3, 0);
    long conflictsBefore = arm().calls().stream().filter(c -> c.status() == 409).count();
    String sgc = f.name("failed");
    f.createSgc(sgc);
    run.onCleanUp(() -> run.check(f.deleteSgc(sgc, Duration.ofSeconds(120)), "configuration " + sgc + " was not deleted"));
    String pod = f.createPod(f.name("failed-pod"), f.workers().get(0), sgc);
    run.pods.add(pod);
    run.onCleanUp(() -> deletePod(run, pod));
    Set<String> seen = new LinkedHashSet<>();
    Sh.poll(() -> {
      seen.addAll(f.conditions(sgc));
      return Demo.egressPrefix(f.kube, Faults.NS, sgc).isPresent();
    }, b -> b, Duration.ofSeconds(150), 500);
    run.healed();
    arm().clearFaults();
    long conflicts = arm().calls().stream().filter(c -> c.status() == 409).count() - conflictsBefore;
    var conditions = run.r.putArray("conditionsSeen");
    seen.forEach(conditions::add);
    run.r.put("conflictsAnswered", conflicts);
    run.check(conflicts > 0, "no write was answered 409 (the fault did not happen)");
  }

  /** The managed prefixes of configuration {@code sgc} (named after its uid). */
  private long prefixesNamed(String sgc) {
    var r = f.kube.genericKubernetesResources(Demo.SGC).inNamespace(Faults.NS).withName(sgc).get();
    String uid = r == null ? "" : r.getMetadata().getUid();
    return uid.isEmpty() ? -1 : arm().resources(PREFIXES).stream().filter(p -> p.path("name").asText().contains(uid)).count();
  }

  private void killControllers(Faults.Run run) {
    List<Release.Member> controllers = f.release.members().stream().filter(m -> m.role().equals("controller")).toList();
    var killed = run.r.putArray("killed");
    for (Release.Member c : controllers) {
      f.release.containerId(c).ifPresent(id -> {
        f.release.kill(c, id);
        killed.add(c.name());
      });
    }
    run.check(!killed.isEmpty(), "no controller container to kill");
  }

  private void awaitControllers(Faults.Run run) {
    boolean back = Sh.poll(() -> f.release.members().stream().filter(m -> m.role().equals("controller"))
        .allMatch(m -> Workloads.ready(m.pod())), b -> b, Duration.ofSeconds(180), 1000);
    run.check(back, "the controllers did not become Ready after the SIGKILL");
  }

  private void deletePod(Faults.Run run, String key) {
    f.deletePod(key);
    List<String> left = f.leftOf(List.of(key), Duration.ofSeconds(90));
    run.check(left.isEmpty(), "left behind after deletion: " + left);
  }
}
