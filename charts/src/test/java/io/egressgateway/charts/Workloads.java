package io.egressgateway.charts;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.List;
import java.util.stream.Stream;

/** Pod specs of the three workloads in a rendered release. */
final class Workloads {

  private Workloads() {}

  static PodSpec controller(List<HasMetadata> docs) {
    return Chart.one(docs, Deployment.class, "-controller").getSpec().getTemplate().getSpec();
  }

  static PodSpec gateway(List<HasMetadata> docs) {
    return Chart.one(docs, DaemonSet.class, "-gateway").getSpec().getTemplate().getSpec();
  }

  static PodSpec worker(List<HasMetadata> docs) {
    return Chart.one(docs, DaemonSet.class, "-worker").getSpec().getTemplate().getSpec();
  }

  static Container member(PodSpec pod) {
    return pod.getContainers().get(0);
  }

  static Stream<Container> allContainers(PodSpec pod) {
    return Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream());
  }

  /** The literal value of a member container's variable, or null when absent. */
  static String env(PodSpec pod, String name) {
    return member(pod).getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue)
        .findFirst().orElse(null);
  }
}
