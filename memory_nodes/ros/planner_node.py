"""The planner node: an ExecuteTask action server that plans from memory and acts.

Instruction (+ optional ALFRED-L goal conditions) in; progress feedback per skill (and,
for an instruction read without goal conditions, one first feedback with status
'goals_read' saying what it was read into and by what); result with success / error_code /
error_msg (INVALID_REQUEST with the reason when the instruction is refused). The default
backend is the grounded planner (no model): goal conditions (or goals read from a
controlled instruction grammar, or by the language model) compiled into skills against
memory, exploring when something is unknown, re-planning when memory proves stale.
`backend:=transformers` (a local model path) or `backend:=openai` (any OpenAI-compatible
server) plan with a model over a memory-augmented prompt and fall back to the grounded
planner when the model fails. The planner uses only what memory and the skill server tell
it, never the simulator's ground truth.
"""

from __future__ import annotations

import dataclasses
import json
import time

from embodied_memory_msgs.action import ExecuteTask
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_msgs.msg import String

from memory_nodes.planner.grounded_backend import GroundedBackend
from memory_nodes.planner.task_context import task_labels
from memory_nodes.planner.task_planner import InvalidRequest, TaskPlanner
from memory_nodes.planner.task_runner import RunnerConfig, call_text
from memory_nodes.ros.params import declare_config, describe
from memory_nodes.ros.qos import LATCHED
from memory_nodes.ros.ros_memory_view import RosMemoryView, RosSkillExecutor
from memory_nodes.ros.spin import run_node

BACKENDS = {'grounded', 'transformers', 'openai'}


class TaskCanceled(Exception):
    """The action client canceled the goal."""


@dataclasses.dataclass
class PlannerConfig:
    """Parameters of the planner node."""

    backend: str = describe('grounded', 'grounded (no model), transformers or openai',
                            choices=BACKENDS)
    model_path: str = describe('', 'transformers: local model directory')
    planner_mode: str = describe(
        'plan', "transformers/openai: 'plan' (the model writes a plan, the grounded planner "
        "finishes) or 'tools' (closed loop: the model calls memory tools and skills one "
        'grammar-constrained call at a time, from the instruction alone)',
        choices={'plan', 'tools'})
    tool_steps: int = describe(16, "planner_mode 'tools': calls per task", min=1)
    instruction_reader: str = describe(
        'grammar', "what reads an instruction given without goal conditions: 'grammar' (the "
        "controlled grammar) or 'language_model' (the offline SmolLM2 with the shipped "
        'fine-tuned adapter, grammar-constrained; it refuses by name what is empty, too '
        'long, addressed to the model, names nothing known or reads into a guessed object; '
        'the grammar reads only what it wrote no goals for)',
        choices={'grammar', 'language_model'})
    reader_adapter: str = describe('shipped', "language_model: 'shipped', 'none' or an "
                                   'adapter directory')
    reader_max_instruction_chars: int = describe(
        600, 'language_model: longest instruction shown to the model (longer: refused)',
        min=16)
    device: str = describe('cpu', 'transformers: cpu or cuda')
    base_url: str = describe('http://127.0.0.1:8000/v1', 'openai: server URL')
    model: str = describe('', 'openai: model name on the server')
    api_key_env: str = describe('OPENAI_API_KEY', 'openai: environment variable of the key')
    token_budget: int = describe(2048, 'model prompt budget (tokens)', min=256)
    max_replans: int = describe(6, 're-plans per sub-goal', min=0)
    max_skills: int = describe(80, 'skills per task', min=1)
    max_instruction_chars: int = describe(2000, 'longest accepted instruction', min=16)
    skill_timeout: float = describe(120.0, 'seconds to wait for one skill', min=1.0)
    memory_condition: str = describe('ltm+stm', 'memories the planner reads: ltm+stm, ltm, stm',
                                     choices={'ltm+stm', 'ltm', 'stm'})


class PlannerNode(Node):
    """ExecuteTask over memory + the skill server."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003 - rclpy Node kwargs
        super().__init__('planner', **kwargs)
        self.cfg = declare_config(self, PlannerConfig)
        self.memory = RosMemoryView(self, use_ltm='ltm' in self.cfg.memory_condition,
                                    use_stm='stm' in self.cfg.memory_condition)
        self.context_pub = self.create_publisher(String, 'task_context', LATCHED)
        self.robot = RosSkillExecutor(self, timeout=self.cfg.skill_timeout)
        self.grounded = GroundedBackend(self.memory)
        self.model = self._make_model_backend()
        self.planner = TaskPlanner(
            self.memory, self.robot, model=self.model,
            runner_config=RunnerConfig(self.cfg.max_replans, self.cfg.max_skills),
            max_instruction_chars=self.cfg.max_instruction_chars,
            goal_reader=self._make_goal_reader())
        self.previous_tasks: list[str] = []
        self.server = ActionServer(
            self, ExecuteTask, 'execute_task', execute_callback=self._execute,
            goal_callback=lambda _goal: GoalResponse.ACCEPT,
            cancel_callback=lambda _goal: CancelResponse.ACCEPT,
            callback_group=ReentrantCallbackGroup())
        self.get_logger().info(f'planner ready: backend {self.cfg.backend}')

    def _make_goal_reader(self):  # noqa: ANN202 - a GoalReader or None
        if self.cfg.instruction_reader != 'language_model':
            return None
        from memory_nodes.planner.language.goal_reader import GoalReader, GoalReaderConfig

        reader = GoalReader(GoalReaderConfig(
            adapter=self.cfg.reader_adapter, device=self.cfg.device,
            max_instruction_chars=self.cfg.reader_max_instruction_chars))
        self.get_logger().info(f'instructions are read by the language model '
                               f'({reader.adapter or "no adapter"}, {reader.load_seconds:.1f} s'
                               ' to load)')
        return reader

    def _make_model_backend(self):  # noqa: ANN202 - a PlannerBackend or None
        if self.cfg.backend == 'grounded':
            return None
        from memory_nodes.planner.backends import make_backend

        params = {'memory': self.memory, 'fallback': self.grounded,
                  'token_budget': self.cfg.token_budget}
        if self.cfg.planner_mode == 'tools':
            params = {'memory': self.memory, 'planner_mode': 'tools',
                      'tool_steps': self.cfg.tool_steps}
        if self.cfg.backend == 'transformers':
            params.update(model_path=self.cfg.model_path, device=self.cfg.device)
        else:
            params.update(base_url=self.cfg.base_url, model=self.cfg.model,
                          api_key_env=self.cfg.api_key_env)
        return make_backend(self.cfg.backend, **params)

    # ---- the action --------------------------------------------------------------
    def _execute(self, goal_handle):  # noqa: ANN001, ANN202
        request = goal_handle.request
        result = ExecuteTask.Result()
        try:
            goals = [] if getattr(self.model, 'closed_loop', False) \
                and not request.goal_conditions else \
                self.planner.goals_for(request.instruction, list(request.goal_conditions))
        except InvalidRequest as exc:
            result.error_code, result.error_msg = result.INVALID_REQUEST, str(exc)
            goal_handle.abort()
            return result
        except (TimeoutError, RuntimeError) as exc:  # memory did not answer while reading
            result.error_code = result.PLANNING_FAILED
            result.error_msg = f'reading the instruction failed: {exc}'
            goal_handle.abort()
            return result
        self.context_pub.publish(String(data=json.dumps({'labels': list(task_labels(goals))})))
        feedback = ExecuteTask.Feedback()
        if self.planner.last_source in ('language_model', 'grammar'):
            # What the instruction was read into, before any skill: status 'goals_read',
            # current_skill '<reader>: <goal>, <goal> (<s> s)' (step 0).
            reading = self.planner.last_reading
            took = f' ({reading.seconds:.1f} s)' if reading is not None else ''
            feedback.status = 'goals_read'
            feedback.current_skill = (f'{self.planner.last_source}: '
                                      + ', '.join(g.to_text() for g in goals) + took)
            goal_handle.publish_feedback(feedback)
        done_skills = [0]

        def on_skill(call, outcome) -> None:  # noqa: ANN001
            done_skills[0] += 1
            feedback.current_skill = call_text(call) + ('' if outcome.success
                                                        else f' -> {outcome.reason}')
            feedback.step_index = done_skills[0]
            feedback.status = 'executing' if outcome.success else 'replanning'
            goal_handle.publish_feedback(feedback)
            if goal_handle.is_cancel_requested:
                raise TaskCanceled()

        t0 = time.perf_counter()
        try:
            done = self.planner.run(request.instruction, goals=goals, on_skill=on_skill)
        except TaskCanceled:
            result.error_code, result.error_msg = result.CANCELED, 'canceled by the client'
            goal_handle.canceled()
            return result
        except (TimeoutError, RuntimeError) as exc:
            result.error_code, result.error_msg = result.EXECUTION_FAILED, str(exc)
            goal_handle.abort()
            return result
        outcome = done.outcome
        result.success = outcome.believed_done
        result.executed_skills = [s.text + ('' if s.success else f' -> {s.reason}')
                                  for s in outcome.skills]
        result.replans = outcome.replans
        result.exploration_steps = outcome.explorations
        result.path_length = float(outcome.path_length_m)
        result.prompt_tokens = int(done.prompt_tokens)
        if outcome.believed_done:
            result.error_code, result.error_msg = result.SUCCESS, done.note
            goal_handle.succeed()
        else:
            result.error_code = result.EXECUTION_FAILED if outcome.skills else \
                result.PLANNING_FAILED
            result.error_msg = outcome.error or 'not done'
            goal_handle.abort()
        self.previous_tasks.append(request.instruction)
        self.get_logger().info(f'task done in {time.perf_counter() - t0:.1f} s: '
                               f'{"success" if result.success else result.error_msg}')
        return result


def main(args: list[str] | None = None) -> None:
    """Run the planner node until Ctrl-C / SIGTERM."""
    run_node(PlannerNode, args, threads=4)


if __name__ == '__main__':
    main()
