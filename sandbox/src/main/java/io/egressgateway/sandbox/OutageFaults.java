package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Services the members depend on, taken away while the user changes things: the controllers' journal
 * database and the Kubernetes API answer every TCP segment with a reset for 30 s (an nft rule in the
 * namespace of their VNet endpoint, as if the server process had stopped), and the API answers the
 * members' watches with HTTP 500 (a hook of the sandbox's API, {@link KubeApi#failMemberWatches}), closes
 * the open ones, and holds an object no member can map. What the user changed meanwhile must be carried
 * out once the service is back.
 */
final class OutageFaults {
  static final Duration OUTAGE = Duration.ofSeconds(30);
  static final Duration WATCH_ERRORS = Duration.ofSeconds(20);

  private final Faults f;

  OutageFaults(Faults f) {
    this.f = f;
  }

  /**
   * The journal's server unreachable for 30 s while a configuration and pods are made: the controllers'
   * {@code /ready} goes red (their pods not Ready) and back, and the change is carried out afterwards.
   */
  void journal(Faults.Run run) {
    String ns = f.lab.nsName("journal");
    boolean red = false;
    try (AutoCloseable outage = Faults.rejectTcp(ns, VnetServices.JOURNAL_PORT)) {
      red = changeDuring(run, OUTAGE, () -> controllersNotReady() > 0);
    } catch (Exception e) {
      run.fail("cannot block the journal: " + e.getMessage());
    }
    run.healed();
    run.r.put("controllersWentNotReady", red);
    run.check(red, "no controller turned not Ready while its journal was unreachable");
    boolean back = Sh.poll(() -> controllersNotReady() == 0, b -> b, Duration.ofSeconds(120), 500);
    run.r.put("controllersReadyAgain", back);
    run.check(back, "the controllers did not become Ready again");
  }

  /**
   * The members' watches: the open ones closed (their connections reset), every new one answered with 500
   * for 20 s, and meanwhile a configuration no member can map next to a valid one and its pod.
   */
  void watchErrors(Faults.Run run) {
    String ns = f.lab.nsName("apiserver");
    long failedBefore = f.api.failedWatches();
    String broken = f.name("unmappable");
    f.api.failMemberWatches(true);
    try {
      // close every open watch: a reset of the API endpoint's connections
      try (AutoCloseable reset = Faults.rejectTcp(ns, VnetServices.API_PORT)) {
        // an idle watch sends nothing the rule could answer: end the open connections at once (each side gets a reset)
        Sh.quiet(ns, "ss", "-K", "-tn", "sport = :" + VnetServices.API_PORT);
        Sh.sleep(1_000);
      } catch (Exception e) {
        run.fail("cannot reset the API's connections: " + e.getMessage());
      }
      createUnmappable(broken);
      run.onCleanUp(() -> run.check(deleteAny(broken), "the unmappable configuration " + broken + " could not be deleted"));
      changeDuring(run, WATCH_ERRORS, () -> false);
    } finally {
      f.api.failMemberWatches(false);
    }
    run.healed();
    long failed = f.api.failedWatches() - failedBefore;
    run.r.put("watchesAnswered500", failed).put("unmappable", Faults.NS + "/" + broken);
    run.check(failed > 0, "no member's watch was answered with 500 (the fault did not happen)");
    var unmappable = run.r.putArray("unmappableConditions");
    // the object that cannot be mapped is told so; it must not hold up anything else (the valid neighbour converges)
    Sh.poll(() -> f.conditions(broken), l -> !l.isEmpty(), Duration.ofSeconds(60), 1000).forEach(unmappable::add);
  }

  /** The API server unreachable for 30 s (every connection reset) while a configuration and pods are made. */
  void apiDown(Faults.Run run) {
    String ns = f.lab.nsName("apiserver");
    try (AutoCloseable outage = Faults.rejectTcp(ns, VnetServices.API_PORT)) {
      changeDuring(run, OUTAGE, () -> false);
    } catch (Exception e) {
      run.fail("cannot block the API: " + e.getMessage());
    }
    run.healed();
  }

  /**
   * For {@code length}: makes a configuration with an annotated pod for it and a plain pod (on the second
   * worker), all kept for the convergence check and deleted at clean-up; true when {@code seen} held at
   * least once meanwhile (checked every second).
   */
  private boolean changeDuring(Faults.Run run, Duration length, java.util.function.BooleanSupplier seen) {
    long end = System.nanoTime() + length.toNanos();
    String sgc = f.name("sgc");
    List<String> workers = f.workers();
    String node = workers.get(workers.size() - 1);
    f.createSgc(sgc);
    run.onCleanUp(() -> run.check(f.deleteSgc(sgc, Duration.ofSeconds(120)), "configuration " + sgc + " was not deleted"));
    boolean held = seen.getAsBoolean();
    Sh.sleep(2_000);
    String annotated = f.createPod(f.name("pod"), node, sgc);
    String plain = f.createPod(f.name("plain"), node, null);
    run.pods.add(annotated);
    run.pods.add(plain);
    run.onCleanUp(() -> {
      f.deletePod(annotated);
      f.deletePod(plain);
      List<String> left = f.leftOf(List.of(annotated, plain), Duration.ofSeconds(90));
      run.check(left.isEmpty(), "pods left behind after deletion: " + left);
    });
    while (System.nanoTime() < end) {
      held |= seen.getAsBoolean();
      Sh.sleep(1_000);
    }
    run.r.put("sgc", Faults.NS + "/" + sgc).put("pod", annotated).put("plainPod", plain);
    return held;
  }

  private long controllersNotReady() {
    return f.release.members().stream().filter(m -> m.role().equals("controller")).filter(m -> !Workloads.ready(m.pod())).count();
  }

  /** A configuration whose spec no version of the CRD maps: fields of the wrong JSON type. */
  private void createUnmappable(String name) {
    GenericKubernetesResource r = new GenericKubernetesResource();
    r.setApiVersion("egressgateway.kubernetes.azure.com/v1alpha1");
    r.setKind("StaticGatewayConfiguration");
    r.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(Faults.NS).build());
    r.setAdditionalProperty("spec", Map.of("gatewayNodepoolName", List.of("not", "a", "name"),
        "provisionPublicIps", Map.of("not", "a boolean"), "publicIpPrefixSize", "thirty"));
    f.kube.genericKubernetesResources(Demo.SGC).inNamespace(Faults.NS).resource(r).create();
  }

  /** Deletes a configuration and waits until it is gone; a finalizer nobody removes is reported, then dropped. */
  private boolean deleteAny(String name) {
    var sgcs = f.kube.genericKubernetesResources(Demo.SGC).inNamespace(Faults.NS);
    sgcs.withName(name).delete();
    return Sh.poll(() -> sgcs.withName(name).get() == null, b -> b, Duration.ofSeconds(60), 500);
  }
}
