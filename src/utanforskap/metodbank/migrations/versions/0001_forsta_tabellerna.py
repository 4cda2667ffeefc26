"""de första tabellerna: insatser, utvärderingar, historik, användare, token

Revision ID: 0001
Revises: 
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anvandare',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('namn', sa.String(length=100), nullable=False),
    sa.Column('roll', sa.String(length=20), nullable=False),
    sa.Column('kommun_kod', sa.String(length=4), nullable=True),
    sa.Column('losenord', sa.String(length=200), nullable=False),
    sa.Column('sparrad', sa.Boolean(), nullable=False),
    sa.Column('sessionsversion', sa.Integer(), nullable=False),
    sa.Column('skapad', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namn')
    )
    op.create_table('historik',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('insats_id', sa.Integer(), nullable=False),
    sa.Column('tid', sa.DateTime(), nullable=False),
    sa.Column('vem', sa.String(length=100), nullable=False),
    sa.Column('handling', sa.String(length=40), nullable=False),
    sa.Column('andringar', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('historik', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_historik_insats_id'), ['insats_id'], unique=False)

    op.create_table('insats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('extern_id', sa.String(length=100), nullable=True),
    sa.Column('namn', sa.String(length=300), nullable=False),
    sa.Column('beskrivning', sa.Text(), nullable=False),
    sa.Column('niva', sa.String(length=20), nullable=False),
    sa.Column('agare_typ', sa.String(length=30), nullable=False),
    sa.Column('agare_namn', sa.String(length=300), nullable=False),
    sa.Column('ansvarig_kommun', sa.String(length=4), nullable=True),
    sa.Column('malgrupp', sa.Text(), nullable=False),
    sa.Column('alder_fran', sa.Integer(), nullable=True),
    sa.Column('alder_till', sa.Integer(), nullable=True),
    sa.Column('kon', sa.String(length=20), nullable=False),
    sa.Column('start', sa.Date(), nullable=True),
    sa.Column('slut', sa.Date(), nullable=True),
    sa.Column('period_text', sa.String(length=200), nullable=False),
    sa.Column('beslut_text', sa.String(length=200), nullable=False),
    sa.Column('deltagare', sa.Integer(), nullable=True),
    sa.Column('platser', sa.Integer(), nullable=True),
    sa.Column('kostnad_kr', sa.Integer(), nullable=True),
    sa.Column('belopp_text', sa.String(length=300), nullable=False),
    sa.Column('finansiering', sa.Text(), nullable=False),
    sa.Column('urval', sa.Text(), nullable=False),
    sa.Column('samverkan', sa.JSON(), nullable=False),
    sa.Column('resultatmatt', sa.JSON(), nullable=False),
    sa.Column('kallor', sa.JSON(), nullable=False),
    sa.Column('kallstatus', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('evidensgrad', sa.String(length=30), nullable=False),
    sa.Column('evidensregel', sa.String(length=60), nullable=False),
    sa.Column('exempel', sa.Boolean(), nullable=False),
    sa.Column('skapad', sa.DateTime(), nullable=False),
    sa.Column('andrad', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('extern_id')
    )
    with op.batch_alter_table('insats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insats_andrad'), ['andrad'], unique=False)
        batch_op.create_index(batch_op.f('ix_insats_ansvarig_kommun'), ['ansvarig_kommun'], unique=False)
        batch_op.create_index(batch_op.f('ix_insats_evidensgrad'), ['evidensgrad'], unique=False)
        batch_op.create_index(batch_op.f('ix_insats_slut'), ['slut'], unique=False)
        batch_op.create_index(batch_op.f('ix_insats_start'), ['start'], unique=False)
        batch_op.create_index(batch_op.f('ix_insats_status'), ['status'], unique=False)
        batch_op.create_index('ix_insats_status_andrad', ['status', 'andrad'], unique=False)

    op.create_table('meta',
    sa.Column('nyckel', sa.String(length=60), nullable=False),
    sa.Column('varde', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('nyckel')
    )
    op.create_table('insats_kommun',
    sa.Column('insats_id', sa.Integer(), nullable=False),
    sa.Column('kommun_kod', sa.String(length=4), nullable=False),
    sa.ForeignKeyConstraint(['insats_id'], ['insats.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('insats_id', 'kommun_kod')
    )
    with op.batch_alter_table('insats_kommun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insats_kommun_kommun_kod'), ['kommun_kod'], unique=False)

    op.create_table('insats_omrade',
    sa.Column('insats_id', sa.Integer(), nullable=False),
    sa.Column('regso_kod', sa.String(length=12), nullable=False),
    sa.Column('indelning', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['insats_id'], ['insats.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('insats_id', 'regso_kod')
    )
    with op.batch_alter_table('insats_omrade', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insats_omrade_regso_kod'), ['regso_kod'], unique=False)

    op.create_table('insats_problem',
    sa.Column('insats_id', sa.Integer(), nullable=False),
    sa.Column('problem', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['insats_id'], ['insats.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('insats_id', 'problem')
    )
    with op.batch_alter_table('insats_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insats_problem_problem'), ['problem'], unique=False)

    op.create_table('insats_sektor',
    sa.Column('insats_id', sa.Integer(), nullable=False),
    sa.Column('sektor', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['insats_id'], ['insats.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('insats_id', 'sektor')
    )
    with op.batch_alter_table('insats_sektor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insats_sektor_sektor'), ['sektor'], unique=False)

    op.create_table('token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('anvandare_id', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('roll', sa.String(length=20), nullable=False),
    sa.Column('kommun_kod', sa.String(length=4), nullable=True),
    sa.Column('beskrivning', sa.String(length=200), nullable=False),
    sa.Column('skapad', sa.DateTime(), nullable=False),
    sa.Column('aterkallad', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['anvandare_id'], ['anvandare.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash')
    )
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_token_anvandare_id'), ['anvandare_id'], unique=False)

    op.create_table('utvardering',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('insats_id', sa.Integer(), nullable=False),
    sa.Column('design', sa.String(length=40), nullable=False),
    sa.Column('utvarderare', sa.String(length=300), nullable=False),
    sa.Column('oberoende', sa.String(length=20), nullable=False),
    sa.Column('ar', sa.Integer(), nullable=True),
    sa.Column('utfallsmatt', sa.String(length=300), nullable=False),
    sa.Column('resultat', sa.String(length=20), nullable=False),
    sa.Column('effekt', sa.Float(), nullable=True),
    sa.Column('ki_lag', sa.Float(), nullable=True),
    sa.Column('ki_hog', sa.Float(), nullable=True),
    sa.Column('antal', sa.Integer(), nullable=True),
    sa.Column('uppfoljning_manader', sa.Integer(), nullable=True),
    sa.Column('rapport_url', sa.String(length=500), nullable=False),
    sa.Column('beskrivning', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['insats_id'], ['insats.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('utvardering', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_utvardering_insats_id'), ['insats_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('utvardering', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_utvardering_insats_id'))

    op.drop_table('utvardering')
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_token_anvandare_id'))

    op.drop_table('token')
    with op.batch_alter_table('insats_sektor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insats_sektor_sektor'))

    op.drop_table('insats_sektor')
    with op.batch_alter_table('insats_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insats_problem_problem'))

    op.drop_table('insats_problem')
    with op.batch_alter_table('insats_omrade', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insats_omrade_regso_kod'))

    op.drop_table('insats_omrade')
    with op.batch_alter_table('insats_kommun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insats_kommun_kommun_kod'))

    op.drop_table('insats_kommun')
    op.drop_table('meta')
    with op.batch_alter_table('insats', schema=None) as batch_op:
        batch_op.drop_index('ix_insats_status_andrad')
        batch_op.drop_index(batch_op.f('ix_insats_status'))
        batch_op.drop_index(batch_op.f('ix_insats_start'))
        batch_op.drop_index(batch_op.f('ix_insats_slut'))
        batch_op.drop_index(batch_op.f('ix_insats_evidensgrad'))
        batch_op.drop_index(batch_op.f('ix_insats_ansvarig_kommun'))
        batch_op.drop_index(batch_op.f('ix_insats_andrad'))

    op.drop_table('insats')
    with op.batch_alter_table('historik', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_historik_insats_id'))

    op.drop_table('historik')
    op.drop_table('anvandare')
