package io.egressgateway.core.metrics;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;

/**
 * The member's metrics, exposed in Prometheus text format on the management port ({@code GET /metrics}).
 * A thin face over one {@link PrometheusRegistry} of the Prometheus Java client per actor system: the
 * client keeps the values and writes the exposition format; this class keeps the call sites short
 * (label values positional, families looked up by name) and adds JVM metrics (memory, GC, threads,
 * classes, process CPU) and the cluster's own ({@link ClusterMetrics}) to a member's registry.
 *
 * <p>Label values must come from small sets (config keys, node names, operation kinds), never per-pod
 * values, so cardinality stays bounded.
 */
public final class Metrics implements Extension {

  /** Classic Prometheus names only: these are what dashboards and the sandbox's checks match. */
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Map<String, Object> families = new ConcurrentHashMap<>();

  public static Metrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** A registry outside any actor system (tests, the CNI benchmark), without JVM metrics. */
  public static Metrics standalone() {
    return new Metrics();
  }

  private Metrics() {}

  /** The client's registry, for collectors written against the library directly. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** A monotonic counter; {@code name} ends in {@code _total}, as the exposition format wants. */
  public Counter counter(String name, String help, String... labelNames) {
    return family(name, Counter.class, () -> new Counter(registry, name, help, labelNames));
  }

  public Gauge gauge(String name, String help, String... labelNames) {
    return family(name, Gauge.class, () -> new Gauge(registry, name, help, labelNames));
  }

  /** Histogram with the given upper bucket bounds (seconds for latencies); classic buckets only. */
  public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
    return family(name, Histogram.class, () -> new Histogram(registry, name, help, buckets, labelNames));
  }

  /** Everything registered, in Prometheus text exposition format 0.0.4. */
  public String scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private <T> T family(String name, Class<T> type, java.util.function.Supplier<T> create) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad metric name " + name);
    }
    Object f = families.computeIfAbsent(name, n -> create.get());
    if (!type.isInstance(f)) {
      throw new IllegalArgumentException(name + " is already registered as a " + f.getClass().getSimpleName());
    }
    return type.cast(f);
  }

  private static void checkArity(String name, String[] labelNames, String[] values) {
    if (values.length != labelNames.length) {
      throw new IllegalArgumentException(name + " takes labels " + Arrays.toString(labelNames));
    }
  }

  /** Monotonic counter. */
  public static final class Counter {
    private final String name;
    private final String[] labelNames;
    private final io.prometheus.metrics.core.metrics.Counter counter;

    Counter(PrometheusRegistry registry, String name, String help, String[] labelNames) {
      this.name = name;
      this.labelNames = labelNames.clone();
      this.counter = io.prometheus.metrics.core.metrics.Counter.builder()
          .name(name).help(help).labelNames(labelNames).register(registry);
    }

    public void inc(String... labelValues) {
      add(1, labelValues);
    }

    public void add(double amount, String... labelValues) {
      checkArity(name, labelNames, labelValues);
      if (amount < 0) {
        throw new IllegalArgumentException("counters only go up");
      }
      counter.labelValues(labelValues).inc(amount);
    }

    /** The current value; 0 for label values never counted (without creating their series). */
    public double value(String... labelValues) {
      checkArity(name, labelNames, labelValues);
      Labels wanted = Labels.of(labelNames, labelValues);
      return counter.collect().getDataPoints().stream().filter(p -> p.getLabels().equals(wanted))
          .mapToDouble(CounterSnapshot.CounterDataPointSnapshot::getValue).findFirst().orElse(0);
    }
  }

  /**
   * A value that goes up and down, either set directly or read from a supplier at scrape time (per label
   * values, so one family can mix both).
   */
  public static final class Gauge implements Collector {
    private final String name;
    private final String help;
    private final String[] labelNames;
    private final Map<List<String>, DoubleSupplier> children = new ConcurrentHashMap<>();

    Gauge(PrometheusRegistry registry, String name, String help, String[] labelNames) {
      this.name = name;
      this.help = help;
      this.labelNames = labelNames.clone();
      registry.register(this);
    }

    public void set(double value, String... labelValues) {
      children.put(key(labelValues), () -> value);
    }

    public void track(DoubleSupplier supplier, String... labelValues) {
      children.put(key(labelValues), supplier);
    }

    public void remove(String... labelValues) {
      children.remove(key(labelValues));
    }

    public double value(String... labelValues) {
      DoubleSupplier s = children.get(key(labelValues));
      return s == null ? Double.NaN : s.getAsDouble();
    }

    private List<String> key(String[] labelValues) {
      checkArity(name, labelNames, labelValues);
      return List.of(labelValues);
    }

    @Override
    public MetricSnapshot collect() {
      GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
      children.forEach((values, supplier) -> b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
          .labels(Labels.of(List.of(labelNames), values)).value(supplier.getAsDouble()).build()));
      return b.build();
    }

    @Override
    public String getPrometheusName() {
      return name;
    }
  }

  /** Cumulative fixed-bucket histogram. */
  public static final class Histogram {
    private final String name;
    private final String[] labelNames;
    private final io.prometheus.metrics.core.metrics.Histogram histogram;

    Histogram(PrometheusRegistry registry, String name, String help, double[] bounds, String[] labelNames) {
      this.name = name;
      this.labelNames = labelNames.clone();
      this.histogram = io.prometheus.metrics.core.metrics.Histogram.builder()
          .name(name).help(help).labelNames(labelNames).classicOnly().classicUpperBounds(bounds).register(registry);
    }

    public void observe(double value, String... labelValues) {
      checkArity(name, labelNames, labelValues);
      histogram.labelValues(labelValues).observe(value);
    }

    public long count(String... labelValues) {
      checkArity(name, labelNames, labelValues);
      Labels wanted = Labels.of(labelNames, labelValues);
      return histogram.collect().getDataPoints().stream().filter(p -> p.getLabels().equals(wanted))
          .mapToLong(HistogramSnapshot.HistogramDataPointSnapshot::getCount).findFirst().orElse(0);
    }
  }

  private static final class Id extends ExtensionId<Metrics> {
    static final Id INSTANCE = new Id();

    @Override
    public Metrics createExtension(ActorSystem<?> system) {
      Metrics m = new Metrics();
      JvmMetrics.builder().register(m.registry);
      ClusterMetrics.register(system, m);
      return m;
    }
  }
}
