"""The bottom layer: what every other layer may import, and which imports none of them.

``core.params`` (``ParamError`` and the checks), ``core.records`` (``Problem``, ``RunResult``),
``core.agent`` (the ``Agent`` base class of every family and the one registry ``AGENTS``), and the
compiled protocols with their loops: ``core.kernels`` / ``core.linear_kernels`` (an agent's
``act`` / ``observe``), ``core.worlds`` (a world's reset / step), ``core.encoding`` (features),
``core.loop`` / ``core.linear_loop`` (the episode loops over those protocols), ``core.egreedy``.
"""

from dynaplan.core.agent import AGENTS, FAMILIES, Agent, play_episode, register_agent
from dynaplan.core.params import ParamError
from dynaplan.core.records import ENCODINGS, Budget, Problem, RunResult

__all__ = [
           "AGENTS",
           "ENCODINGS",
           "FAMILIES",
           "Agent",
           "Budget",
           "ParamError",
           "Problem",
           "RunResult",
           "play_episode",
           "register_agent",
]
