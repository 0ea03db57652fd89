"""`ChannelPublication`, `ChannelFanout` on a versioned worker (`workflows.versioned`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.publication import contract as c
    from domain.publication.contract import FanoutInput, PublicationOutcome, PublicationRequest

from workflows.channel_publication import ChannelFanout, ChannelPublication


@workflow.defn(name=c.WORKFLOW_TYPE, versioning_behavior=c.VERSIONING)
class VersionedChannelPublication(ChannelPublication):
    """`ChannelPublication`, declaring its contract's versioning behaviour."""

    @workflow.run
    async def run(self, request: PublicationRequest) -> PublicationOutcome:
        return await super().run(request)


@workflow.defn(name=c.FANOUT_WORKFLOW_TYPE, versioning_behavior=c.VERSIONING)
class VersionedChannelFanout(ChannelFanout):
    """`ChannelFanout`, declaring its contract's versioning behaviour."""

    @workflow.run
    async def run(self, data: FanoutInput) -> list[PublicationOutcome]:
        return await super().run(data)
