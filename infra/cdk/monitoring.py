"""Alarms (one SNS topic) and the CloudWatch dashboard of the claim pipeline."""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.domain.claim import Channel, Segment
from chalicelib.observability import NAMESPACE, SERVICE

PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class PipelineMetric:
    """A metric the app emits as EMF (chalicelib.observability.Telemetry): name and the dimension
    that splits it (besides ``service``), with every value the code can give it."""
    name: str
    title: str
    split_by: str | None = None
    values: tuple[str, ...] = ()

    def dimension_sets(self) -> list[dict[str, str]]:
        if self.split_by is None:
            return [{"service": SERVICE}]
        return [{"service": SERVICE, self.split_by: value} for value in self.values]


PIPELINE_METRICS = (
    PipelineMetric("ClaimsReceived", "Claims received, by channel", "channel", tuple(c.value for c in Channel)),
    PipelineMetric("ClaimsScored", "Claims scored, by segment", "segment", tuple(s.value for s in Segment)),
    PipelineMetric("ClaimsDispatched", "Claims dispatched to a surveyor"),
    PipelineMetric("ClaimsNeedingAttention", "Claims given up by a consumer (to the agent queue)"),
)


@dataclass(frozen=True)
class WatchedFunction:
    chalice_name: str
    function_name: str
    consumer: bool


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, queues: dict[str, sqs.Queue],
                 dlqs: dict[str, sqs.Queue], functions: list[WatchedFunction], api_name: str, api_stage: str,
                 alarm_email: str | None):
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "AlarmTopic", topic_name=f"{prefix}-alarms",
                               display_name=f"{prefix} alarms")
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

        for name, dlq in dlqs.items():
            self._alarm(f"Dlq{_camel(name)}", f"{prefix}-dlq-{name}", dlq.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"), threshold=0,
                description=f"Messages in {dlq.queue_name}: they failed {name} repeatedly; inspect, fix, redrive.")
        # Their claims: each message dead-lettered by scoring or dispatch hands its claim to a person.
        needing_attention = cloudwatch.Metric(namespace=NAMESPACE, metric_name="ClaimsNeedingAttention",
                                              dimensions_map={"service": SERVICE}, statistic="Sum", period=PERIOD)
        self._alarm("ClaimsNeedingAttention", f"{prefix}-claims-needing-attention", needing_attention, threshold=0,
                    description="Claims whose scoring or dispatch message failed every receive: they are "
                                "NEEDS_ATTENTION on the agent queue; the class of the error is on their timeline.")

        for fn in (f for f in functions if f.consumer):
            for metric_name in ("Errors", "Throttles"):
                metric = cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric_name,
                                           dimensions_map={"FunctionName": fn.function_name},
                                           statistic="Sum", period=PERIOD)
                self._alarm(f"{_camel(fn.chalice_name)}{metric_name}", f"{fn.function_name}-{metric_name.lower()}",
                            metric, threshold=0,
                            description=f"{metric_name} of {fn.function_name} in the last 5 minutes.")

        api_5xx = cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5XXError",
                                    dimensions_map={"ApiName": api_name, "Stage": api_stage},
                                    statistic="Sum", period=PERIOD)
        self._alarm("Api5xx", f"{prefix}-api-5xx", api_5xx, threshold=0,
                    description="The API answered 5xx: the contract never answers 500 to bad input.")

        self.dashboard = cloudwatch.Dashboard(self, "PipelineDashboard", dashboard_name=f"{prefix}-pipeline")
        self.dashboard.add_widgets(*[
            cloudwatch.GraphWidget(
                title=m.title, width=8, height=6, stacked=m.split_by is not None,
                left=[cloudwatch.Metric(namespace=NAMESPACE, metric_name=m.name, dimensions_map=dims,
                                        statistic="Sum", period=PERIOD,
                                        label=dims.get(m.split_by, m.name) if m.split_by else m.name)
                      for dims in m.dimension_sets()])
            for m in PIPELINE_METRICS])
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queue age: oldest message (s)", width=12, height=6,
                left=[q.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum", label=name)
                      for name, q in queues.items()]),
            cloudwatch.GraphWidget(
                title="Queue depth (visible) and dead letters", width=12, height=6,
                left=[q.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum", label=name)
                      for name, q in queues.items()],
                right=[q.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum",
                                                                       label=f"{name} DLQ")
                       for name, q in dlqs.items()]),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors", width=12, height=6,
                left=[cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Errors",
                                        dimensions_map={"FunctionName": f.function_name}, statistic="Sum",
                                        period=PERIOD, label=f.chalice_name) for f in functions]),
            cloudwatch.GraphWidget(
                title="API: 4XX / 5XX", width=12, height=6,
                left=[cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name=name,
                                        dimensions_map={"ApiName": api_name, "Stage": api_stage},
                                        statistic="Sum", period=PERIOD, label=name)
                      for name in ("4XXError", "5XXError")]),
        )

    def _alarm(self, construct_id: str, name: str, metric: cloudwatch.IMetric, *, threshold: float,
               description: str) -> None:
        alarm = cloudwatch.Alarm(
            self, construct_id, alarm_name=name, alarm_description=description, metric=metric,
            threshold=threshold, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
