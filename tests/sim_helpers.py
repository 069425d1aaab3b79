"""Small helpers the simulator tests share: find an object, run a skill on ids."""

from __future__ import annotations

from memory_nodes.domain.skills import SkillCall, SkillResult, SkillTarget


def first(sim, object_type: str) -> str:
    """The first id (sorted) of an object of `object_type` in the simulator."""
    return sorted(o for o, t in sim.things.items() if t.object_type == object_type)[0]


def skill(sim, name: str, target: str | None = None, receptacle: str | None = None,
          **kw) -> SkillResult:
    """Run skill `name` on objects given by id (None: no target / receptacle)."""
    call = SkillCall(name, target=SkillTarget(object_id=target) if target else None,
                     receptacle=SkillTarget(object_id=receptacle) if receptacle else None, **kw)
    return sim.execute(call)


def succeed(sim, name: str, target: str | None = None, receptacle: str | None = None,
            **kw) -> SkillResult:
    """`skill`, asserting it succeeded (the message names the skill, ids and reason)."""
    result = skill(sim, name, target, receptacle, **kw)
    assert result.success, (name, target, receptacle, result.reason, result.message)
    return result
