package io.egressgateway.core;

import akka.actor.AddressFromURIString;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.cluster.typed.JoinSeedNodes;
import akka.management.cluster.bootstrap.ClusterBootstrap;
import akka.management.javadsl.AkkaManagement;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.egressgateway.core.journal.Journal;
import io.egressgateway.core.settings.CoreSettings;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cluster member: its journal (started first, stopped last), its ActorSystem, Akka Management HTTP,
 * and how it joins the cluster. Module wiring (sharding regions, informers, servers) happens on
 * {@link #system()} after {@link #start}; cluster joining happens in {@link #join()} so that everything is
 * registered before the member becomes Up.
 */
public final class EgressMember implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EgressMember.class);
  public static final String SYSTEM_NAME = "egress";

  private final CoreSettings settings;
  private final Journal journal;
  private final ActorSystem<Void> system;
  private final String managementUrl;
  private final boolean ownsJournal;
  /**
   * How long the actor system may take to terminate once coordinated shutdown has run every phase before
   * {@code actor-system-terminate}. Akka's remoting over TLS can fail to finish terminating after a TLS stage
   * ended abruptly (akka/akka-core#29162: the system waits on its flushed transports for good); everything of
   * ours has stopped by then, so the member counts as stopped after this.
   */
  static final Duration TERMINATE_GRACE = Duration.ofSeconds(10);
  private final CompletableFuture<akka.Done> stopped = new CompletableFuture<>();

  private EgressMember(
      CoreSettings settings, Journal journal, ActorSystem<Void> system, String managementUrl, boolean ownsJournal) {
    this.ownsJournal = ownsJournal;
    this.settings = settings;
    this.journal = journal;
    this.system = system;
    this.managementUrl = managementUrl;
  }

  /** Starts a member from {@code config} (usually {@code ConfigFactory.load()}), with its own journal. */
  public static EgressMember start(Config config) {
    CoreSettings settings = CoreSettings.fromConfig(config);
    Journal journal = Journal.start(settings.journal());
    try {
      return start(config, settings, journal, true);
    } catch (RuntimeException e) {
      journal.close();
      throw e;
    }
  }

  /** Starts a member on a journal owned by the caller (tests and the sandbox share one database). */
  public static EgressMember startOn(Config config, Journal sharedJournal) {
    return start(config, CoreSettings.fromConfig(config), sharedJournal, false);
  }

  private static EgressMember start(Config config, CoreSettings settings, Journal journal, boolean ownsJournal) {
    Config full = journal.akkaConfig()
        .withValue("akka.cluster.roles", ConfigValueFactory.fromIterable(settings.clusterRoles()))
        .withValue("akka.management.cluster.bootstrap.new-cluster-enabled",
            ConfigValueFactory.fromAnyRef(mayFormCluster(settings)))
        .withFallback(config)
        .resolve();
    full = withLegacyClasses(full);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), SYSTEM_NAME, full);
    try {
      io.egressgateway.core.security.Security.get(system);
      io.egressgateway.core.security.RoleAttestation.start(system);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
    String url;
    try {
      url = AkkaManagement.get(system).start().toCompletableFuture().get(30, TimeUnit.SECONDS).toString();
      url = url.endsWith("/") ? url : url + "/";
    } catch (Exception e) {
      system.terminate();
      throw new IllegalStateException("Akka Management HTTP did not start: " + e.getMessage(), e);
    }
    EgressMember member = new EgressMember(settings, journal, system, url, ownsJournal);
    member.watchStop();
    member.stopped.thenRun(member::afterTermination);
    member.installJournalShutdownHook();
    log.info("member on node '{}' with roles {} started; management HTTP at {}", settings.nodeName(), settings.roles(), url);
    return member;
  }

  /**
   * Only controllers may form a new cluster with Cluster Bootstrap. Every member is a contact point (the chart
   * labels them all), so a controller started while gateways or workers are Up finds their cluster and joins
   * it, even when every earlier controller is gone; a gateway or worker never starts a cluster of its own, it
   * waits until it can join one.
   */
  static boolean mayFormCluster(CoreSettings settings) {
    return settings.hasRole(Roles.CONTROLLER);
  }

  /**
   * While signatures are not enforced, the previous release's plain peer commands are read too (a rolling
   * upgrade); once they are, Jackson reads no protected class, so a member cannot bypass the signed serializer.
   */
  public static Config withLegacyClasses(Config config) {
    if (config.getBoolean("egress.security.enforce")) {
      return config;
    }
    List<String> prefixes = new java.util.ArrayList<>(config.getStringList("akka.serialization.jackson.allowed-class-prefix"));
    prefixes.addAll(config.getStringList("egress.security.legacy-class-prefix"));
    return config.withValue("akka.serialization.jackson.allowed-class-prefix", ConfigValueFactory.fromIterable(prefixes));
  }

  /** Joins the cluster: bootstrap in Kubernetes, the seed nodes (or itself) locally. */
  public void join() {
    Cluster cluster = Cluster.get(system);
    if (settings.discovery() == CoreSettings.Discovery.KUBERNETES) {
      ClusterBootstrap.get(system).start();
      return;
    }
    if (settings.seedNodes().isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    } else {
      List<akka.actor.Address> seeds = settings.seedNodes().stream().map(AddressFromURIString::parse).toList();
      cluster.manager().tell(new JoinSeedNodes(seeds));
    }
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public CoreSettings settings() {
    return settings;
  }

  public Journal journal() {
    return journal;
  }

  /** Base URL of this member's Akka Management HTTP server. */
  public String managementUrl() {
    return managementUrl;
  }

  public CompletionStage<akka.Done> whenTerminated() {
    return system.getWhenTerminated();
  }

  /**
   * Completes when the actor system has terminated, or {@link #TERMINATE_GRACE} after coordinated shutdown
   * reached its last phase if termination hangs there (then with a warning): what the process, its shutdown
   * hook and {@link #close} wait for before they stop the journal and exit.
   */
  public CompletionStage<akka.Done> whenStopped() {
    return stopped;
  }

  private void watchStop() {
    system.getWhenTerminated().thenRun(() -> stopped.complete(akka.Done.getInstance()));
    akka.actor.CoordinatedShutdown.get(system).addTask(
        akka.actor.CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "egress-stop-watch", () -> {
          CompletableFuture.delayedExecutor(TERMINATE_GRACE.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
            if (stopped.complete(akka.Done.getInstance())) {
              log.warn("actor system still terminating {} s after coordinated shutdown ran; counted as stopped "
                  + "(every phase before actor-system-terminate has run)", TERMINATE_GRACE.toSeconds());
            }
          });
          return CompletableFuture.completedFuture(akka.Done.getInstance());
        });
  }

  /**
   * On SIGTERM or Ctrl-C, Akka's own JVM hook runs coordinated shutdown (leave, stop entities, flush the
   * journal). JVM hooks run concurrently, so this one waits for that to finish and only then stops the
   * journal; otherwise the embedded PostgreSQL would either stop under the last writes or outlive the
   * process.
   */
  private void installJournalShutdownHook() {
    if (!ownsJournal) {
      return;
    }
    Thread hook = new Thread(() -> {
      try {
        stopped.get(90, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warn("actor system still running at JVM exit ({}); stopping the journal anyway", e.toString());
      }
      journal.close();
    }, "egress-journal-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    stopped.thenRun(() -> {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the JVM is exiting: the hook is running and will close the journal itself
      }
    });
  }

  private void afterTermination() {
    if (ownsJournal) {
      journal.close();
    }
  }

  /** Coordinated shutdown (leaves the cluster, stops entities), then the journal. Blocks up to 60 s. */
  @Override
  public void close() {
    system.terminate();
    try {
      stopped.get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("actor system did not terminate in time: {}", e.toString());
    }
  }

  /** Configuration for a member in tests or the sandbox: loopback, random remoting port, given node/roles. */
  public static Config localConfig(String nodeName, List<String> roles, int managementPort, List<String> seeds) {
    return ConfigFactory.parseString(
            "akka.remote.artery.canonical.hostname = \"127.0.0.1\"\n"
                + "akka.remote.artery.canonical.port = 0\n"
                + "akka.cluster.jmx.multi-mbeans-in-same-jvm = on\n"
                + "akka.management.http.hostname = \"127.0.0.1\"\n")
        .withValue("akka.management.http.port", ConfigValueFactory.fromAnyRef(managementPort))
        .withValue("egress.node-name", ConfigValueFactory.fromAnyRef(nodeName))
        .withValue("egress.roles", ConfigValueFactory.fromIterable(roles))
        .withValue("egress.seed-nodes", ConfigValueFactory.fromIterable(seeds))
        .withFallback(ConfigFactory.load());
  }

}
