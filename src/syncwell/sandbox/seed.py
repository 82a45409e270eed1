"""Realistic fake data, the same for the same seed: companies, people, tasks.

The project tool's tasks name contacts of the CRM without reading the CRM's file: both tools
regenerate the same people from the same seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = [
    "LIFECYCLE_STAGES",
    "Company",
    "Person",
    "Task",
    "companies",
    "new_person",
    "next_status",
    "people",
    "task_title",
    "tasks",
]

_FIRST = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Andre",
    "Anna",
    "Arjun",
    "Beatriz",
    "Ben",
    "Carla",
    "Chen",
    "Chloe",
    "Daniel",
    "David",
    "Diego",
    "Elena",
    "Emma",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Isaac",
    "Ivan",
    "Jade",
    "James",
    "Javier",
    "Julia",
    "Kai",
    "Karim",
    "Laura",
    "Leo",
    "Lina",
    "Lucas",
    "Maja",
    "Marco",
    "Maria",
    "Mateo",
    "Maya",
    "Mia",
    "Nadia",
    "Noah",
    "Nora",
    "Olga",
    "Omar",
    "Paula",
    "Priya",
    "Rafael",
    "Rosa",
    "Sam",
    "Sara",
    "Sofia",
    "Tariq",
    "Tom",
    "Uma",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
]
_LAST = [
    "Abbott",
    "Alvarez",
    "Andersen",
    "Bauer",
    "Becker",
    "Brown",
    "Castro",
    "Chen",
    "Costa",
    "Dubois",
    "Edwards",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Gomez",
    "Hansen",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kaur",
    "Khan",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Perez",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Sousa",
    "Tanaka",
    "Taylor",
    "Thomas",
    "Wagner",
    "Walsh",
    "Weber",
    "Wilson",
    "Wong",
    "Yilmaz",
]
_WORDS = [
    "acme",
    "apex",
    "arbor",
    "atlas",
    "beacon",
    "birch",
    "blue",
    "bright",
    "cedar",
    "cobalt",
    "coral",
    "crest",
    "delta",
    "ember",
    "falcon",
    "fern",
    "forge",
    "granite",
    "harbor",
    "helix",
    "iron",
    "juniper",
    "keystone",
    "lumen",
    "maple",
    "meridian",
    "nimbus",
    "north",
    "oak",
    "orbit",
    "pine",
    "pixel",
    "quartz",
    "river",
    "summit",
    "tidal",
    "vertex",
    "willow",
    "zenith",
]
_SUFFIXES = ("Labs", "Systems", "Group", "Health", "Logistics", "Software", "Partners", "Works")
_TLDS = ("com", "io", "co", "net", "dev")
_INDUSTRIES = (
    "software",
    "healthcare",
    "logistics",
    "retail",
    "finance",
    "education",
    "manufacturing",
    "media",
)
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
_STAGE_WEIGHTS = (10, 35, 15, 10, 10, 15, 3, 2)
_VERBS = ("Call", "Email", "Send proposal to", "Onboard", "Demo for", "Follow up with", "Renew")
_ASSIGNEES = (
    "alex@ourapp.example",
    "bea@ourapp.example",
    "chris@ourapp.example",
    "dana@ourapp.example",
)
_TASK_STATUSES = ("todo", "doing", "done")


@dataclass(frozen=True)
class Company:
    domain: str
    name: str
    industry: str
    employees: int


@dataclass(frozen=True)
class Person:
    email: str
    first_name: str
    last_name: str
    phone: str | None
    company_domain: str
    lifecycle_stage: str


@dataclass(frozen=True)
class Task:
    title: str
    status: str
    assignee_email: str
    contact_email: str | None
    due_date: str | None


def companies(seed: int, count: int) -> list[Company]:
    """`count` companies with unique domains."""
    rng = random.Random(f"{seed}:companies")  # noqa: S311 - fake data
    made: list[Company] = []
    seen: set[str] = set()
    while len(made) < count:
        first, second = rng.choice(_WORDS), rng.choice(_WORDS)
        stem = first if first == second else first + second
        domain = f"{stem}.{rng.choice(_TLDS)}"
        if domain in seen:
            domain = f"{stem}{len(made)}.{rng.choice(_TLDS)}"
        seen.add(domain)
        name = f"{first.title()}{'' if first == second else ' ' + second.title()}"
        made.append(
            Company(
                domain=domain,
                name=f"{name} {rng.choice(_SUFFIXES)}",
                industry=rng.choice(_INDUSTRIES),
                employees=int(rng.lognormvariate(3.5, 1.3)) + 1,
            )
        )
    return made


def people(seed: int, count: int, domains: list[str]) -> list[Person]:
    """`count` people with unique emails, each working at one of `domains`."""
    rng = random.Random(f"{seed}:people")  # noqa: S311 - fake data
    made: list[Person] = []
    seen: set[str] = set()
    while len(made) < count:
        person = new_person(rng, domains)
        if person.email in seen:
            person = new_person(rng, domains, suffix=str(len(made)))
        seen.add(person.email)
        made.append(person)
    return made


def new_person(rng: random.Random, domains: list[str], *, suffix: str = "") -> Person:
    """One made-up person; `suffix` makes the email unique when a name repeats."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    domain = rng.choice(domains)
    phone = f"+1-555-{rng.randrange(100, 1000)}-{rng.randrange(1000, 10000)}"
    return Person(
        email=f"{first}.{last}{suffix}@{domain}".lower(),
        first_name=first,
        last_name=last,
        phone=phone if rng.random() < 0.8 else None,
        company_domain=domain,
        lifecycle_stage=rng.choices(LIFECYCLE_STAGES, _STAGE_WEIGHTS)[0],
    )


def tasks(seed: int, count: int, contact_emails: list[str]) -> list[Task]:
    """`count` tasks, most of them about one of `contact_emails`."""
    rng = random.Random(f"{seed}:tasks")  # noqa: S311 - fake data
    return [_task(rng, contact_emails) for _ in range(count)]


def _task(rng: random.Random, contact_emails: list[str]) -> Task:
    contact = rng.choice(contact_emails) if contact_emails and rng.random() < 0.9 else None
    due = None
    if rng.random() < 0.7:
        due = f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    return Task(
        title=task_title(rng, contact),
        status=rng.choices(_TASK_STATUSES, (5, 2, 3))[0],
        assignee_email=rng.choice(_ASSIGNEES),
        contact_email=contact,
        due_date=due,
    )


def task_title(rng: random.Random, contact_email: str | None) -> str:
    """A to-do line such as `Send proposal to maria.silva@acme.io`."""
    who = contact_email or rng.choice(("the team", "finance", "legal"))
    return f"{rng.choice(_VERBS)} {who}"


def next_status(rng: random.Random, status: str) -> str:
    """A task's next status, never the same one: work moves forward, sometimes back."""
    if status == "todo":
        return "doing"
    if status == "doing":
        return rng.choice(("done", "done", "todo"))
    return "doing"
