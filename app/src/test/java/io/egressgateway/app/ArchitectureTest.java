package io.egressgateway.app;

import static com.tngtech.archunit.base.DescribedPredicate.or;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.type;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.egressgateway.core.CborSerializable;

/**
 * The layer rules of the whole build, in one place: app's test classpath holds the main classes of every
 * module it wires (cluster-core, datapath, gateway-actor, pod-actor, kube-bridge, azure-actor).
 *
 * <ul>
 *   <li>{@code model} packages are pure: records, sealed types, planners and parsers that need no actors,
 *       no kernel, no Kubernetes and no Azure to be tested;
 *   <li>modules reach each other only through what is shared on purpose: cluster-core (the member, the
 *       replicated view, the gateway's peer protocol) and datapath (the Linux and WireGuard tools). The
 *       actor modules never use one another; only app wires them together;
 *   <li>datapath is plain blocking code without actors.
 * </ul>
 */
@AnalyzeClasses(packages = "io.egressgateway",
    importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureTest.NoTestJars.class})
class ArchitectureTest {

  @ArchTest
  static final ArchRule modelUsesOnlyJavaAndOtherModels = classes().that().resideInAPackage("io.egressgateway..model..")
      .should().onlyDependOnClassesThat(or(resideInAnyPackage("java..", "io.egressgateway..model.."),
          type(CborSerializable.class)))
      .because("a model holds pure records, planners and parsers: no Akka, fabric8, Azure SDK or logging");

  @ArchTest
  static final ArchRule modelDoesNoIo = noClasses().that().resideInAPackage("io.egressgateway..model..")
      .should().dependOnClassesThat().resideInAnyPackage("java.io..", "java.nio.file..", "java.nio.channels..", "java.net..")
      .because("files, sockets and processes belong to infra, behind a port the model defines");

  @ArchTest
  static final ArchRule modulesReachEachOtherOnlyThroughWhatTheyShare = layeredArchitecture()
      .consideringOnlyDependenciesInLayers()
      .layer("app").definedBy("io.egressgateway.app..")
      .layer("gateway-actor").definedBy("io.egressgateway.gateway..")
      .layer("pod-actor").definedBy("io.egressgateway.pod..")
      .layer("kube-bridge").definedBy("io.egressgateway.kube..")
      .layer("azure-actor").definedBy("io.egressgateway.azure..")
      .layer("datapath").definedBy("io.egressgateway.datapath..")
      .layer("cluster-core").definedBy("io.egressgateway.core..")
      .whereLayer("app").mayNotBeAccessedByAnyLayer()
      .whereLayer("gateway-actor").mayOnlyBeAccessedByLayers("app")
      .whereLayer("pod-actor").mayOnlyBeAccessedByLayers("app")
      .whereLayer("kube-bridge").mayOnlyBeAccessedByLayers("app")
      .whereLayer("azure-actor").mayOnlyBeAccessedByLayers("app")
      .whereLayer("datapath").mayOnlyBeAccessedByLayers("gateway-actor", "pod-actor", "app")
      .whereLayer("cluster-core").mayOnlyBeAccessedByLayers("gateway-actor", "pod-actor", "kube-bridge", "azure-actor", "app")
      .because("the actor modules share only cluster-core and datapath; app alone wires them together");

  @ArchTest
  static final ArchRule datapathHasNoActors = noClasses().that().resideInAPackage("io.egressgateway.datapath..")
      .should().dependOnClassesThat().resideInAnyPackage("akka..", "com.typesafe..", "scala..")
      .because("datapath is plain blocking code that both node roles run on their blocking dispatchers");

  /**
   * Leaves out the test jars of other modules. Inside a reactor build before {@code package} they are
   * {@code target/test-classes} directories, which {@link ImportOption.DoNotIncludeTests} leaves out already.
   */
  public static final class NoTestJars implements ImportOption {
    @Override
    public boolean includes(Location location) {
      return !location.contains("-tests.jar");
    }
  }
}
