package io.egressgateway.sandbox;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A worker's agent killed (SIGKILL of its member container, as the container runtime does on an OOM) while
 * pods on its node are being created and deleted through the CNI chain: the runtime restarts it; pods
 * created meanwhile get their network once it is back (annotated ones through the gateway), pods deleted
 * meanwhile leave nothing behind (network namespace, PodEndpoint).
 */
final class WorkerFaults {
  private static final int CHURN_PODS = 8;
  private static final long CHURN_EVERY_MS = 1_500;
  private static final long POD_LIFETIME_MS = 4_000;

  private final Faults f;

  WorkerFaults(Faults f) {
    this.f = f;
  }

  void killDuringChurn(Faults.Run run) {
    PodRuntime.PodEvent demo = f.events.get(Faults.TRAFFIC_POD);
    String node = demo == null ? f.workers().get(0) : demo.node();
    Optional<Release.Member> worker = f.release.members().stream().filter(m -> m.role().equals("worker") && m.node().equals(node))
        .findFirst();
    if (worker.isEmpty()) {
      run.fail("no worker member on " + node);
      return;
    }
    String before = f.release.containerId(worker.get()).orElse("");
    run.r.put("node", node).put("containerIdBefore", before);
    List<String> deleted = new ArrayList<>();
    List<String> kept = new ArrayList<>();
    List<String[]> alive = new ArrayList<>();
    long killAt = System.nanoTime() + 3 * CHURN_EVERY_MS * 1_000_000;
    boolean killed = false;
    for (int i = 0; i < CHURN_PODS; i++) {
      String key = f.createPod(f.name("churn"), node, i % 2 == 0 ? Faults.SGC : null);
      alive.add(new String[] {key, Long.toString(System.nanoTime())});
      // the ones made in the last round stay: they must come up once the agent is back
      Sh.sleep(CHURN_EVERY_MS);
      if (!killed && System.nanoTime() >= killAt) {
        f.release.kill(worker.get(), before);
        killed = true;
        run.r.put("killedAfterPods", i + 1);
      }
      for (var it = alive.iterator(); it.hasNext();) {
        String[] a = it.next();
        if (i < CHURN_PODS - 2 && System.nanoTime() - Long.parseLong(a[1]) > POD_LIFETIME_MS * 1_000_000) {
          f.deletePod(a[0]);
          deleted.add(a[0]);
          it.remove();
        }
      }
    }
    alive.forEach(a -> kept.add(a[0]));
    // restarted by its runtime (the pod's container restarts, as a kubelet does)
    String after = Sh.poll(() -> f.release.member(worker.get().uid()).flatMap(f.release::containerId).orElse(""),
        id -> !id.isEmpty() && !id.equals(before), Duration.ofSeconds(120), 500);
    run.healed();
    run.r.put("containerIdAfter", after);
    run.check(!after.isEmpty() && !after.equals(before), "the worker's container was not restarted");
    run.pods.addAll(kept);
    var createdArr = run.r.putArray("keptPods");
    kept.forEach(createdArr::add);
    var deletedArr = run.r.putArray("deletedPods");
    deleted.forEach(deletedArr::add);
    // nothing of a deleted pod is left: its namespace, its PodEndpoint
    List<String> left = f.leftOf(deleted, Duration.ofSeconds(120));
    run.check(left.isEmpty(), "deleted pods left behind: " + left);
    run.onCleanUp(() -> {
      kept.forEach(f::deletePod);
      List<String> stuck = f.leftOf(kept, Duration.ofSeconds(90));
      run.check(stuck.isEmpty(), "pods deleted after the scenario left behind: " + stuck);
    });
  }
}
